"""The fast kernels (dsp, rvv, mve) and the FP16 build: scratch sizes that C and Python agree
on, FP16/FP32-fast end to end on the host against onnxruntime, and every SIMD kernel against
its reference in the same QEMU binary on shapes with tails and odd channel counts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import REAL_MODELS
from toolchain.api import CompileOptions, compile_model
from toolchain.boards import load_board
from toolchain.codegen.emit import RUNTIME
from toolchain.codegen.target import kernel_target
from toolchain.ops.base import KernelTarget
from toolchain.ops.conv import ConvShape, conv_cols, scratch_bytes
from toolchain.verify import verify

sys.path.insert(0, str(Path(__file__).parent / "kernels"))
from kharness import Conv, Gemm, run_kernel  # noqa: E402

# FP16 tolerance, end to end: max |ours - onnxruntime FP32| <= FP16_TOL * max(1, max |ref|)
# on the logits/probabilities (FP16 has an 11-bit significand; sums over K up to 576 in FP16
# on the SIMD kernels), and the same top-1 class.
FP16_TOL = 2e-2
KERNEL_TOL = {"f32": 1e-5, "f16": 1e-2}  # fast vs ref, relative to max |ref|


# ---------------------------------------------------------------- host

CONVS = [  # c_in, c_out, groups, k, stride, pad, h, w
    (16, 16, 1, 3, 1, 1, 32, 32), (3, 16, 1, 3, 1, 1, 32, 32), (16, 32, 1, 1, 2, 0, 32, 32),
    (64, 64, 64, 3, 1, 1, 25, 5), (64, 64, 1, 1, 1, 0, 25, 5), (12, 8, 4, 3, 2, 1, 9, 11),
]


def _shape(c_in: int, c_out: int, g: int, k: int, s: int, p: int, h: int, w: int) -> ConvShape:
    oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    return ConvShape(c_in, c_out, g, (k, k), (s, s), (p, p), (h, w), (oh, ow))


def test_scratch_size_agrees_with_c(tmp_path: Path) -> None:
    lines = []
    for c_in, c_out, g, k, s, p, h, w in CONVS:
        oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
        for isa in ("dsp", "rvv", "mve"):
            for elem in (2, 4):
                lines.append(
                    f'{{ mf_conv2d_desc d = {{.n = 1, .c_in = {c_in}, .h_in = {h}, .w_in = {w}, .c_out = {c_out}, '
                    f'.h_out = {oh}, .w_out = {ow}, .k_h = {k}, .k_w = {k}, .stride_h = {s}, .stride_w = {s}, '
                    f'.dil_h = 1, .dil_w = 1, .pad_top = {p}, .pad_left = {p}, .groups = {g}}}; '
                    f'printf("%d\\n", (int)mf_conv2d_scratch_bytes(&d, {elem}, MF_CONV_COLS_{isa.upper()})); }}')
    main = tmp_path / "main.c"
    main.write_text('#include <stdio.h>\n#include "mf_conv.h"\nint main(void) {\n' + "\n".join(lines) + "\nreturn 0; }\n")
    exe = tmp_path / "sizes"
    subprocess.run(["gcc", "-std=c11", "-Wall", "-Werror", f"-I{RUNTIME / 'include'}", str(main),
                    str(RUNTIME / "src" / "conv_im2col_f32_ref.c"), str(RUNTIME / "src" / "elementwise_f32_ref.c"),
                    "-lm", "-o", str(exe)], check=True)
    got = [int(v) for v in subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.split()]
    want = [scratch_bytes(_shape(*c), elem, conv_cols(isa)) for c in CONVS for isa in ("dsp", "rvv", "mve")
            for elem in (2, 4)]
    assert got == want


def test_kernel_target_from_board_fields() -> None:
    assert kernel_target(load_board("stm32f746-disco"), "fp32").isas == ("dsp", "ref")
    assert kernel_target(load_board("stm32f746-disco"), "fp16").isas == ("ref",)
    assert kernel_target(load_board("rv32-rvv"), "fp16") == KernelTarget("f16", ("rvv", "dsp", "ref"))
    assert kernel_target(load_board("cortex-m55-an547"), "fp16").isas[0] == "mve"
    assert kernel_target(None) == KernelTarget()


# arena FP16 / FP32 at most: the CNNs halve; the small ViT's peak holds its float32 input
# (kept at the boundary) next to the FP16 copy, so it shrinks less
@pytest.mark.parametrize("model,ratio", [("resnet8", 0.55), ("dscnn", 0.55), ("vit_opset18", 0.9)])
def test_fp16_halves_memory(model: str, ratio: float) -> None:
    path = REAL_MODELS[model]
    f32 = compile_model(path, options=CompileOptions(integrate=False))  # FP16 has no residual-conv epilogues
    f16 = compile_model(path, options=CompileOptions(target=KernelTarget("f16")))
    assert f16.weight_bytes * 2 == compile_model(path).weight_bytes  # integrated, as f16 is
    assert f16.arena_bytes <= ratio * f32.arena_bytes


@pytest.mark.parametrize("model", ["resnet8", "dscnn", "vit_opset18"])
@pytest.mark.parametrize("target", [KernelTarget("f32", ("dsp",)), KernelTarget("f16"), KernelTarget("f16", ("dsp",))],
                         ids=["f32-dsp", "f16-ref", "f16-dsp"])
def test_host_matches_onnxruntime(model: str, target: KernelTarget) -> None:
    r = verify(REAL_MODELS[model], options=CompileOptions(target=target), sanitize=target.dtype == "f32")
    tol = 1e-4 if target.dtype == "f32" else FP16_TOL
    assert r.max_rel_error <= tol, r.as_dict()


# ---------------------------------------------------------------- qemu: kernels

GEMMS = [Gemm(13, 29, 37), Gemm(8, 16, 16), Gemm(1, 10, 64)]
KCONVS = [Conv(13, 7, 9, 11), Conv(5, 9, 7, 6, stride=2), Conv(24, 24, 10, 13, groups=24),
          Conv(6, 10, 5, 7, k=1, pad=0), Conv(8, 12, 6, 5, k=1, stride=2, pad=0, act="MF_ACT_NONE")]
SIMD_CASES = [("rv32-rvv", "f16", "rvv"), ("cortex-m55-an547", "f16", "mve"), ("stm32f746-disco", "f32", "dsp")]


@pytest.mark.qemu
@pytest.mark.parametrize("board,dtype,isa", SIMD_CASES)
@pytest.mark.parametrize("shape", GEMMS + KCONVS, ids=str)
def test_fast_kernel_matches_ref(board: str, dtype: str, isa: str, shape: Gemm | Conv, tmp_path: Path) -> None:
    from fixtures.sim_support import require_tools

    b = load_board(board)
    require_tools(b)
    r = run_kernel(b, shape, dtype, isa, out_dir=tmp_path)
    scale = max(1.0, float(np.max(np.abs(r.ref))))
    assert float(np.max(np.abs(r.fast - r.ref))) <= KERNEL_TOL[dtype] * scale
    assert r.instructions > 0


# ---------------------------------------------------------------- qemu: end to end

@pytest.mark.qemu
@pytest.mark.slow
@pytest.mark.parametrize("board", ["stm32f746-disco", "stm32f405-netduinoplus2", "rv32-rvv", "cortex-m55-an547"])
def test_fp16_model_on_board(board: str, tmp_path: Path) -> None:
    """DS-CNN (small enough for every board and for QEMU's vector emulation) in FP16 with
    the board's kernels, against onnxruntime FP32 on seeded inputs."""
    ort = pytest.importorskip("onnxruntime")
    from fixtures.sim_support import require_tools
    from toolchain.api import write_sources
    from toolchain.build import build_firmware
    from toolchain.sim import run_qemu

    b = load_board(board)
    require_tools(b)
    path = REAL_MODELS["dscnn"]
    cm = compile_model(path, options=CompileOptions(target=kernel_target(b, "fp16")))
    src = write_sources(cm, tmp_path / "src")
    sess = ort.InferenceSession(str(path))
    for seed in (0, 1):
        rng = np.random.default_rng(seed)
        inputs = [rng.standard_normal([d if isinstance(d, int) else 1 for d in i.shape]).astype(np.float32)
                  for i in sess.get_inputs()]
        want = sess.run(None, {i.name: x for i, x in zip(sess.get_inputs(), inputs)})[0].reshape(-1)
        build = build_firmware(src, b, tmp_path / f"fw{seed}", inputs)
        got = run_qemu(build, b, timeout=300).outputs[0]
        assert float(np.max(np.abs(got - want))) <= FP16_TOL * max(1.0, float(np.max(np.abs(want))))
        assert int(np.argmax(got)) == int(np.argmax(want))
