"""The SIMD int8 kernels (mf_{conv2d,fc}_s8_{dsp,mve,rvv}): their scratch sizes agree with
the Python twins, the tests' own reference (tests/kernels/s8_ref.c) is bit-exact with a numpy
statement of the mf_int8.h contract, and every SIMD kernel is bit-exact with that reference
in the same QEMU binary, over shapes with pixel and k tails, odd channel counts, stride 2
with TF-style asymmetric padding, depthwise, pointwise, dilation, groups, per-tensor
scales, scales near 1 (every requantisation shift case), ReLU/clip clamps, batch 2, and
fully connected layers with odd k and several rows.
int8 outputs are compared exactly: the contract leaves no rounding freedom."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from toolchain.boards import load_board

sys.path.insert(0, str(Path(__file__).parent / "kernels"))
from s8harness import (  # noqa: E402
    COLS, RUNTIME, ConvS8, FcS8, conv_scratch_bytes, fc_scratch_bytes, run_s8,
)

CONVS = [
    ConvS8(13, 7, 9, 11),                                            # odd channels, pixel and k tails
    ConvS8(3, 16, 12, 10, act="relu"),                               # a first layer (k = 27)
    ConvS8(8, 12, 10, 10, stride=(2, 2), pads=(0, 0, 1, 1)),         # TF SAME, stride 2
    ConvS8(10, 10, 11, 9, stride=(2, 2), groups=10, act="relu"),     # depthwise, stride 2, pad 1
    ConvS8(24, 24, 10, 13, groups=24),                               # depthwise, stride 1
    ConvS8(20, 11, 7, 9, k=(1, 1), pads=(0, 0, 0, 0)),               # pointwise
    ConvS8(6, 10, 9, 8, k=(1, 1), stride=(2, 2), pads=(0, 0, 0, 0)),  # strided 1x1 (shortcut)
    ConvS8(8, 6, 9, 9, dil=(2, 2), pads=(2, 2, 2, 2), groups=2, per_channel=False, act="clip"),
    ConvS8(1, 5, 13, 7, k=(5, 3), stride=(2, 1), pads=(2, 1, 2, 1)),  # DS-CNN-like first conv
    ConvS8(1, 6, 19, 10, k=(10, 4), stride=(2, 2), pads=(4, 1, 5, 1)),  # DS-CNN's 10x4: 4-tap edge rows
    ConvS8(2, 5, 9, 7, k=(3, 4), pads=(1, 1, 1, 2)),                 # 4 taps, two padded columns right
    ConvS8(5, 4, 6, 7, n=2),                                         # batch 2
    ConvS8(3, 6, 7, 9, big_scale=True),                              # shifts 31..33
    ConvS8(12, 12, 9, 6, groups=12, big_scale=True),                 # the same, depthwise
    ConvS8(32, 8, 7, 5),                                             # k = 288: 6-pixel DSP panels, tail 5
    # QConvAdd bands (ops/qconv.py): h_out = the band's rows, pad_top lowered (below 0)
    ConvS8(16, 16, 12, 10, act="relu", band=(4, 4)),                 # interior rows
    ConvS8(5, 7, 9, 11, band=(0, 3)),                                # top band: padding kept
    ConvS8(8, 12, 10, 10, stride=(2, 2), pads=(0, 0, 1, 1), band=(3, 2)),  # bottom band, stride 2
    ConvS8(6, 10, 9, 8, k=(1, 1), stride=(2, 2), pads=(0, 0, 0, 0), band=(2, 3)),  # strided 1x1
    # rows of 16 and more (RVV: the band path, a strip of 16 and a tail; Helium: panel groups
    # that straddle output rows)
    ConvS8(5, 7, 6, 19, act="relu"),                                 # 7 channels: 4 + 3 single
    ConvS8(6, 9, 7, 35, stride=(2, 2), pads=(0, 0, 1, 1)),           # stride 2 (strided loads), TF SAME
    ConvS8(4, 6, 8, 17, band=(2, 3)),                                # a QConvAdd band, wide rows
    ConvS8(6, 5, 6, 33, k=(1, 1), stride=(2, 2), pads=(0, 0, 0, 0)),  # wide strided 1x1
    ConvS8(2, 4, 5, 18, k=(1, 5), pads=(0, 2, 0, 2), act="clip"),    # a 5-wide window (generic taps)
    # DSP: k a multiple of 16 without a clamp runs every row and full block of six in one
    # assembly routine (gemm_s8_dsp.c rows6_q0); the pixels past the last full block after it
    ConvS8(16, 7, 9, 11),                                            # k = 144, 7 rows, 99 = 8 x 12 + 3 pixels
    ConvS8(16, 5, 8, 7, per_channel=False),                          # per tensor, 56 = 4 x 12 + 8
    ConvS8(32, 3, 5, 5, k=(1, 1), pads=(0, 0, 0, 0)),                # pointwise k = 32, 25 pixels
    ConvS8(3, 16, 12, 10),  # k = 27: one group a loop trip, the last row in C (its word would pass w)
    # the same with the weights widened at compile time (desc w_dsp, ops/qconv.py dsp_weights):
    # zero-padded rows, so the k = 27 layer's last row runs in assembly too; groups index it
    ConvS8(16, 7, 9, 11, w_dsp=True),
    ConvS8(3, 16, 12, 10, w_dsp=True),
    ConvS8(13, 7, 9, 11, per_channel=False, w_dsp=True),
    ConvS8(8, 6, 9, 9, groups=2, w_dsp=True),
    ConvS8(16, 16, 12, 10, act="relu", band=(4, 4), w_dsp=True),     # a clamp: the C tiles read w
]
# mf_conv2d_overwrite_s8_<isa>, run with y = x: pixel tails (125 = 10 panels + 5), c_out
# below, equal to and (one image) above c_in, batch 2
OVERWRITES = [
    ConvS8(16, 12, 5, 25, k=(1, 1), pads=(0, 0, 0, 0), overwrite=True),
    ConvS8(16, 12, 5, 25, k=(1, 1), pads=(0, 0, 0, 0), overwrite=True, w_dsp=True),
    ConvS8(13, 13, 7, 9, k=(1, 1), pads=(0, 0, 0, 0), act="relu", overwrite=True),
    ConvS8(5, 9, 4, 5, k=(1, 1), pads=(0, 0, 0, 0), big_scale=True, overwrite=True),
    ConvS8(7, 6, 5, 3, k=(1, 1), pads=(0, 0, 0, 0), n=2, per_channel=False, overwrite=True),
]
# the SIMD conv kernels' depthwise path with y = x (mf_int8.h): stride 1 and 2, batch 2
IN_PLACE = [
    ConvS8(12, 12, 25, 5, groups=12, act="relu", in_place=True),
    ConvS8(10, 10, 11, 9, stride=(2, 2), groups=10, in_place=True),
    ConvS8(6, 6, 7, 6, groups=6, n=2, big_scale=True, in_place=True),
]
FCS = [FcS8(1, 10, 64), FcS8(1, 12, 37), FcS8(3, 7, 45, act="relu"), FcS8(13, 5, 19, per_channel=False),
       FcS8(2, 9, 11, big_scale=True)]
SIMD = [("stm32f746-disco", "dsp"), ("cortex-m55-an547", "mve"), ("rv32-rvv", "rvv")]


# ---------------------------------------------------------------- host

@pytest.mark.parametrize("shape", CONVS + FCS, ids=str)
def test_reference_is_the_contract(shape: ConvS8 | FcS8, tmp_path: Path) -> None:
    """s8_ref.c on the host, against numpy in exact integers."""
    r = run_s8(load_board("host"), shape, "ref", out_dir=tmp_path)
    np.testing.assert_array_equal(r.ref, r.want)
    assert len(np.unique(r.want)) >= min(20, r.want.size // 2), "outputs should spread, not sit at a clamp"


def test_scratch_bytes_agree_with_c(tmp_path: Path) -> None:
    """The *_scratch_bytes functions are plain C outside the ISA guards: built with the host
    gcc, they must give what the kernel table's Python twins give, and the panel widths
    MF_S8_COLS_* what toolchain/ops/int8_kernels.py says."""
    lines = []
    for c in CONVS:
        oh, ow = c.out_hw
        desc = (f"{{.n = {c.n}, .c_in = {c.c_in}, .h_in = {c.h}, .w_in = {c.w}, .c_out = {c.c_out}, "
                f".h_out = {oh}, .w_out = {ow}, .k_h = {c.k[0]}, .k_w = {c.k[1]}, .stride_h = {c.stride[0]}, "
                f".stride_w = {c.stride[1]}, .dil_h = {c.dil[0]}, .dil_w = {c.dil[1]}, .pad_top = {c.pad_top}, "
                f".pad_left = {c.pads[1]}, .groups = {c.groups}}}")
        for isa in ("dsp", "mve", "rvv"):
            lines.append(f'{{ mf_conv2d_s8_desc d = {desc}; printf("%d\\n", (int)mf_conv2d_s8_{isa}_scratch_bytes(&d)); }}')
    for f in FCS:
        for isa in ("dsp", "mve", "rvv"):
            lines.append(f'{{ mf_fc_s8_desc d = {{.m = {f.m}, .n = {f.n}, .k = {f.k}}}; '
                         f'printf("%d\\n", (int)mf_fc_s8_{isa}_scratch_bytes(&d)); }}')
    main = tmp_path / "main.c"
    lines += [f'printf("%d\\n", MF_S8_COLS_{isa.upper()});' for isa in ("dsp", "mve", "rvv")]
    main.write_text('#include <stdio.h>\n#include "mf_int8_simd.h"\nint main(void) {\n' + "\n".join(lines)
                    + "\nreturn 0; }\n")
    srcs = [str(RUNTIME / "src" / f"{op}_s8_{isa}.c") for op in ("conv", "fc") for isa in ("dsp", "mve", "rvv")]
    exe = tmp_path / "sizes"
    # mf_int8_simd.h (the tile sizes) is private to the kernels: runtime_c/src
    subprocess.run(["gcc", "-std=c11", "-Wall", "-Wextra", "-Werror", f"-I{RUNTIME / 'include'}", f"-I{RUNTIME / 'src'}",
                    str(main), *srcs, "-o", str(exe)], check=True)
    got = [int(v) for v in subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.split()]
    want = [conv_scratch_bytes(isa, c) for c in CONVS for isa in ("dsp", "mve", "rvv")]
    want += [fc_scratch_bytes(isa, f) for f in FCS for isa in ("dsp", "mve", "rvv")]
    want += [COLS[isa] for isa in ("dsp", "mve", "rvv")]
    assert got == want


@pytest.mark.parametrize("shape", OVERWRITES, ids=str)
def test_overwrite_reference_over_its_input_is_the_contract(shape: ConvS8, tmp_path: Path) -> None:
    """mf_conv2d_overwrite_s8_ref with y = x on the host, against numpy."""
    r = run_s8(load_board("host"), shape, "ref", out_dir=tmp_path)
    np.testing.assert_array_equal(r.ref, r.want)
    np.testing.assert_array_equal(r.fast, r.want)


def test_dsp_weights_are_the_smlad_pairs() -> None:
    """ops/qconv.py dsp_weights: per row, k zero-padded to 4, per four k the words
    (w0 | w2 << 16, w1 | w3 << 16) of int16 halves, as int32 (what SXTB16 made at run time)."""
    from toolchain.ops.qconv import dsp_weights

    w = np.array([[1, -2, 3, -4, 5], [-128, 127, 0, -1, -7]], np.int8)
    def word(lo: int, hi: int) -> int:
        v = (lo & 0xFFFF) | (hi & 0xFFFF) << 16
        return v - 2**32 if v >= 2**31 else v
    assert dsp_weights(w) == (word(1, 3), word(-2, -4), word(5, 0), word(0, 0),
                              word(-128, 0), word(127, -1), word(-7, 0), word(0, 0))


# ---------------------------------------------------------------- qemu

@pytest.mark.qemu
@pytest.mark.parametrize("board,isa", SIMD)
@pytest.mark.parametrize("shape", CONVS + FCS, ids=str)
def test_simd_kernel_bit_exact(board: str, isa: str, shape: ConvS8 | FcS8, tmp_path: Path) -> None:
    from fixtures.sim_support import require_tools

    b = load_board(board)
    require_tools(b)
    r = run_s8(b, shape, isa, out_dir=tmp_path)
    np.testing.assert_array_equal(r.ref, r.want)   # the reference, compiled for the board
    np.testing.assert_array_equal(r.fast, r.ref)   # the SIMD kernel, same binary, same data
    assert r.instructions > 0


@pytest.mark.qemu
def test_mve_conv_past_uint16_offsets_bit_exact(tmp_path: Path) -> None:
    """Helium's conv gathers its columns with uint16 offsets into a padded band of input
    rows; where the band would pass 64 KB (512 channels x 130 columns here) it fills the
    panel element by element instead: that path too against the reference, same binary."""
    from fixtures.sim_support import require_tools

    b = load_board("cortex-m55-an547")
    require_tools(b)
    shape = ConvS8(512, 3, 1, 128, k=(1, 1), pads=(0, 1, 0, 1))
    r = run_s8(b, shape, "mve", out_dir=tmp_path)
    np.testing.assert_array_equal(r.ref, r.want)
    np.testing.assert_array_equal(r.fast, r.ref)


@pytest.mark.qemu
@pytest.mark.parametrize("board,isa", SIMD)
@pytest.mark.parametrize("shape", OVERWRITES + IN_PLACE, ids=str)
def test_simd_overwrite_kernel_over_its_input_bit_exact(board: str, isa: str, shape: ConvS8, tmp_path: Path) -> None:
    """mf_conv2d_overwrite_s8_<isa> (pointwise) and mf_conv2d_s8_<isa> (depthwise) with
    y = x against the reference conv, same binary."""
    from fixtures.sim_support import require_tools

    b = load_board(board)
    require_tools(b)
    r = run_s8(b, shape, isa, out_dir=tmp_path)
    np.testing.assert_array_equal(r.ref, r.want)
    np.testing.assert_array_equal(r.fast, r.ref)
    assert r.instructions > 0


def _add_rows_data(n: int, rows: int, scales: tuple[float, float, float], relu: bool) -> tuple[str, np.ndarray]:
    """add_rows_data.h for tests/kernels/add_rows_s8.c: row r of a is value r - 128 (every
    table entry), b sweeps every value, 3 bytes between b's rows; and QAdd's numpy result."""
    from toolchain.ir import QuantInfo
    from toolchain.ops.qconv import add_term
    from toolchain.ops.qelementwise import QAdd, qadd_params

    sa, sb, so = scales
    out_zp = -128 if relu else 5
    p = qadd_params(QuantInfo((sa,), (-3,)), QuantInfo((sb,), (11,)), QuantInfo((so,), (out_zp,)),
                    out_zp if relu else -128, 127)
    bstride = n + 3
    a = np.array([[(r % 256) - 128] * n for r in range(rows)], np.int64)
    b = np.full((rows, bstride), 77, np.int64)
    b[:, :n] = (np.arange(rows * n).reshape(rows, n) * 7 % 256) - 128
    want = b.copy()
    want[:, :n] = QAdd.reference(p, [a, b[:, :n]])[0]

    def arr(name: str, ctype: str, v) -> str:
        return f"static const {ctype} {name}[] = {{{', '.join(str(int(x)) for x in np.ravel(v))}}};"

    h = "\n".join([
        "#include <stdint.h>",
        f"#define KS_N {n}", f"#define KS_ROWS {rows}", f"#define KS_ASTRIDE {n}", f"#define KS_BSTRIDE {bstride}",
        f"#define KS_A_ZP {p.a_zp}", f"#define KS_B_ZP {p.b_zp}", f"#define KS_LEFT_SHIFT {p.left_shift}",
        f"#define KS_A_MULT {p.a_mult}", f"#define KS_A_SHIFT {p.a_shift}", f"#define KS_B_MULT {p.b_mult}",
        f"#define KS_B_SHIFT {p.b_shift}", f"#define KS_OUT_ZP {p.rq.out_zp}", f"#define KS_ACT_MIN {p.rq.act_min}",
        f"#define KS_ACT_MAX {p.rq.act_max}",
        arr("ks_a", "int8_t", a), arr("ks_b", "int8_t", b),
        arr("ks_ta", "int32_t", add_term(p.a_zp, p.a_mult, p.a_shift, p.left_shift)),
        arr("ks_tb", "int32_t", add_term(p.b_zp, p.b_mult, p.b_shift, p.left_shift)),
        arr("ks_mult", "int32_t", p.rq.mult), arr("ks_shift", "int32_t", p.rq.shift)]) + "\n"
    return h, want.reshape(-1)


@pytest.mark.qemu
@pytest.mark.parametrize("n,rows,scales,relu", [(37, 256, (0.05, 0.02, 0.06), True),   # tail of 1
                                                (64, 256, (0.011, 0.09, 0.004), False),  # clamps both ways
                                                (6, 256, (0.3, 0.3, 0.3), False)])       # tail of 2
@pytest.mark.parametrize("board,isa", [("cortex-m55-an547", "mve"), ("rv32-rvv", "rvv"),
                                      ("stm32f746-disco", "dsp")])
def test_simd_add_rows_bit_exact(board: str, isa: str, n: int, rows: int, scales, relu: bool, tmp_path: Path) -> None:
    """mf_add_rows_s8_<isa> (table gathers, high-word multiply) against the reference add of
    each row, in place over b, in one binary; every int8 value of a meets its table entry."""
    from fixtures.sim_support import require_tools
    from harness import Case, run

    b = load_board(board)
    require_tools(b)
    h, want = _add_rows_data(n, rows, scales, relu)
    here = Path(__file__).parent / "kernels"
    r = run(b, Case(here / "add_rows_s8.c", {f"mf_add_rows_s8_{isa}"}, {"unused": np.zeros(1, np.float32)},
                    {"fast": want.size, "ref": want.size}, {"KS_FAST": f"mf_add_rows_s8_{isa}"},
                    {"add_rows_data.h": h}), out_dir=tmp_path)
    np.testing.assert_array_equal(r.ref.astype(np.int64), want)  # the reference: numpy's add
    np.testing.assert_array_equal(r.fast.astype(np.int64), want)  # the SIMD kernel, same binary
    assert len(np.unique(want)) > 100 and r.instructions


@pytest.mark.qemu
@pytest.mark.parametrize("n,c,h,w,k,pads,stride", [
    (1, 7, 5, 25, (5, 25), (0, 0, 0, 0), (1, 1)),    # global, 125 = 7 vectors of 16 + 13 (DS-CNN's)
    (1, 6, 8, 8, (8, 8), (0, 0, 0, 0), (1, 1)),      # global, whole vectors (ResNet-8's)
    (1, 3, 1, 5, (1, 5), (0, 0, 0, 0), (1, 1)),      # global, one short vector
    (2, 7, 3, 5, (3, 5), (0, 0, 0, 0), (1, 1)),      # global, batch 2, a byte tail of 3
    (1, 3, 41, 31, (41, 31), (0, 0, 0, 0), (1, 1)),  # 1271 values: the DSP's 16-bit halves flush twice
    (1, 4, 6, 7, (3, 3), (1, 1, 1, 1), (2, 2)),      # not global: the reference's path
])
@pytest.mark.parametrize("board,isa", [("stm32f746-disco", "dsp"), ("cortex-m55-an547", "mve"), ("rv32-rvv", "rvv")])
def test_simd_avgpool_bit_exact(board: str, isa: str, n: int, c: int, h: int, w: int, k, pads, stride,
                                tmp_path: Path) -> None:
    """mf_avgpool_s8_<isa> against mf_avgpool_s8_ref in one binary, and both against the
    op's numpy reference (ties to even): plane sums with vector tails, a scale that makes
    exact ties, the activation clamp, channels at both ends of the range."""
    from harness import Case, run
    from toolchain.ops.conv import Window
    from toolchain.ops.qpool import QPool, QPoolParams
    from toolchain.ops.requant import Requant
    from fixtures.sim_support import require_tools

    b = load_board(board)
    require_tools(b)
    rng = np.random.default_rng(c * 100 + h)
    x = rng.integers(-128, 128, (n, c, h, w)).astype(np.int8)
    x[:, 0], x[:, -1] = 127, -128  # the sums' extremes (the DSP's 16-bit partial sums)
    in_zp, out_zp = -7, 3
    win = Window(k, stride, (1, 1), pads, 2)
    oh, ow = win.out_size(h, w)
    rq = Requant.from_scales(0.5 / (k[0] * k[1]), out_zp, out_zp - 40, out_zp + 40)
    p = QPoolParams(win, False, in_zp, rq)
    want = QPool.reference(p, [x])[0].reshape(-1)

    def arr(name: str, ctype: str, v) -> str:
        return f"static const {ctype} {name}[] = {{{', '.join(str(int(t)) for t in np.ravel(v))}}};"

    data = "\n".join([
        "#include <stdint.h>", f"#define KS_N {n}", f"#define KS_C {c}", f"#define KS_H {h}", f"#define KS_W {w}",
        f"#define KS_HO {oh}", f"#define KS_WO {ow}", f"#define KS_KH {k[0]}", f"#define KS_KW {k[1]}",
        f"#define KS_SH {stride[0]}", f"#define KS_SW {stride[1]}", f"#define KS_PT {pads[0]}",
        f"#define KS_PL {pads[1]}", f"#define KS_IN_ZP {in_zp}", f"#define KS_OUT_ZP {rq.out_zp}",
        f"#define KS_ACT_MIN {rq.act_min}", f"#define KS_ACT_MAX {rq.act_max}",
        arr("ks_x", "int8_t", x), arr("ks_mult", "int32_t", rq.mult), arr("ks_shift", "int32_t", rq.shift)]) + "\n"
    r = run(b, Case(Path(__file__).parent / "kernels" / "pool_s8.c", {f"mf_avgpool_s8_{isa}"},
                    {"unused": np.zeros(1, np.float32)}, {"fast": want.size, "ref": want.size},
                    {"KS_FAST": f"mf_avgpool_s8_{isa}"}, {"pool_data.h": data}), out_dir=tmp_path, timeout=600)
    np.testing.assert_array_equal(r.ref.astype(np.int64), want)  # the reference vs numpy
    np.testing.assert_array_equal(r.fast.astype(np.int64), want)  # the SIMD kernel, same binary
    assert r.instructions
