"""mf_avgpool_s8_dsp (runtime_c/src/pool_s8_dsp.c): the global average pool by SXTAB16 sums,
bit-exact with mf_avgpool_s8_ref in the same QEMU binary and with a numpy statement of the
contract (sum of x - in_zp, mf_requant_even, clamp). Shapes: ResNet-8's and DS-CNN's global
pools, a map with a byte tail (hw % 4 != 0) and one long enough to flush the 16-bit halves
(hw > 4 * 255), batch 2, a ReLU clamp; and a windowed pool, which takes the reference."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from toolchain.boards import load_board
from toolchain.ops.requant import quantize_multiplier, requant_even

HERE = Path(__file__).parent / "kernels"

# n, c, h, w, (k_h, k_w), stride, (pad_top, pad_left), relu
SHAPES = [
    (1, 64, 8, 8, (8, 8), 1, (0, 0), False),      # ResNet-8
    (1, 64, 25, 5, (25, 5), 1, (0, 0), False),    # DS-CNN: 125 = 31 words + 1 byte
    (2, 7, 3, 5, (3, 5), 1, (0, 0), True),        # tail of 3, batch 2, ReLU
    (1, 3, 41, 31, (41, 31), 1, (0, 0), False),   # 1271 values: two flushes of the halves
    (1, 5, 9, 8, (3, 3), 2, (1, 1), False),       # windowed with padding: the reference
]


def _data(n, c, h, w, k, stride, pads, relu, seed=0):
    rng = np.random.default_rng(seed)
    in_zp, out_zp = int(rng.integers(-30, 30)), (-128 if relu else int(rng.integers(-10, 10)))
    x = rng.integers(-128, 128, (n, c, h, w)).astype(np.int64)
    x[:, 0] = 127  # a channel at the top of the range, one at the bottom
    x[:, -1] = -128
    oh, ow = (h + 2 * pads[0] - k[0]) // stride + 1, (w + 2 * pads[1] - k[1]) // stride + 1
    mult, shift = quantize_multiplier(0.9 / (k[0] * k[1]))
    xp = np.full((n, c, h + 2 * pads[0] + stride, w + 2 * pads[1] + stride), in_zp, np.int64)
    xp[:, :, pads[0]:pads[0] + h, pads[1]:pads[1] + w] = x
    acc = np.zeros((n, c, oh, ow), np.int64)
    for i in range(k[0]):
        for j in range(k[1]):
            acc += xp[:, :, i:i + stride * (oh - 1) + 1:stride, j:j + stride * (ow - 1) + 1:stride] - in_zp
    lo = out_zp if relu else -128
    want = np.clip(out_zp + requant_even(acc, mult, shift), lo, 127).reshape(-1)
    d = {"N": n, "C": c, "H": h, "W": w, "HO": oh, "WO": ow, "KH": k[0], "KW": k[1], "SH": stride, "SW": stride,
         "PT": pads[0], "PL": pads[1], "IN_ZP": in_zp, "OUT_ZP": out_zp, "ACT_MIN": lo, "ACT_MAX": 127}
    h_text = "\n".join(["#include <stdint.h>", *(f"#define KS_{k_} {v}" for k_, v in d.items()),
                        f"static const int8_t ks_x[] = {{{', '.join(map(str, x.reshape(-1)))}}};",
                        f"static const int32_t ks_mult[] = {{{mult}}};",
                        f"static const int32_t ks_shift[] = {{{shift}}};"]) + "\n"
    return h_text, want


@pytest.mark.qemu
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"n{s[0]}c{s[1]}_{s[2]}x{s[3]}_k{s[4][0]}x{s[4][1]}"
                         f"_s{s[5]}{'_relu' if s[7] else ''}")
def test_avgpool_dsp_bit_exact(shape, tmp_path: Path) -> None:
    from fixtures.sim_support import require_tools
    from toolchain.build import build_firmware
    from toolchain.codegen import copy_runtime
    from toolchain.sim import run_firmware

    b = load_board("stm32f746-disco")
    require_tools(b)
    h, want = _data(*shape)
    (tmp_path / "pool_data.h").write_text(h)
    rt = copy_runtime(tmp_path / "runtime", {"mf_avgpool_s8_dsp"})
    build = build_firmware([HERE / "pool_s8.c", *rt], b, tmp_path / "fw", [np.zeros(1), np.zeros(1)],
                           include_dirs=[HERE, tmp_path, tmp_path / "runtime" / "include"],
                           extra_cflags=["-DKS_FAST=mf_avgpool_s8_dsp"])
    r = run_firmware(build, timeout=300)
    assert r.status == 0
    np.testing.assert_array_equal(r.outputs[1].astype(np.int64), want)  # the reference vs numpy
    np.testing.assert_array_equal(r.outputs[0].astype(np.int64), want)  # the DSP kernel, same binary
    assert len(np.unique(want)) >= min(3, want.size) and r.instructions
