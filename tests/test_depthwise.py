"""Depthwise kernels at the ISA's limit (issue 19): the dsp kernel on the host against the
reference over shapes that hit every path (3x3 "same", stride 2, asymmetric and large padding,
dilation, 5x5, 1-D, tiny planes, batch 2, every fused activation), out of place and written over
its own input; the vector kernels (RVV, Helium; FP32 and FP16) and the FP32 vector GEMM/conv
kernels against their references in the same QEMU binary, on shapes with tails."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from toolchain.boards import load_board
from toolchain.codegen.emit import RUNTIME
from toolchain.build.host import SANITIZE, WARN

sys.path.insert(0, str(Path(__file__).resolve().parent / "kernels"))
from kharness import Conv, Gemm, run_kernel  # noqa: E402

HARNESS = Path(__file__).resolve().parent / "kernels" / "depthwise_host.c"
SOURCES = ["depthwise_f32_dsp.c", "depthwise_ref.c", "conv_overwrite_f16_ref.c", "conv_f16_ref.c",
           "conv_im2col_f16_ref.c", "conv_f32_ref.c", "conv_overwrite_f32_ref.c", "conv_overwrite_f32_dsp.c",
           "conv_f32_dsp.c", "gemm_f32_dsp.c", "conv_im2col_f32_ref.c", "elementwise_f32_ref.c"]
KERNEL_TOL = {"f32": 1e-5, "f16": 1e-2}  # fast vs ref, relative to max(1, max |ref|)

# n c h w  k_h k_w  s_h s_w  d_h d_w  pad top left bottom right  act (0 none, 1 relu, 2 clip, 3 sigmoid)
HOST_CASES = [
    (1, 4, 25, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1),    # DS-CNN
    (2, 3, 12, 12, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2),   # batch 2, ReLU6-style clip
    (1, 3, 7, 10, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0),    # 3-column steady loop + remainder
    (1, 3, 7, 9, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 3),     # activation applied after the rows
    (1, 2, 1, 9, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1),     # one row
    (1, 2, 6, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1),     # two columns: generic path
    (1, 3, 9, 11, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0),    # stride 2, torch padding
    (2, 5, 10, 13, 3, 3, 2, 2, 1, 1, 0, 0, 1, 1, 2),   # stride 2, Keras "same" (pads 0/1)
    (1, 2, 12, 12, 3, 3, 2, 2, 1, 1, 0, 0, 1, 1, 1),
    (1, 2, 7, 3, 3, 3, 1, 2, 1, 1, 1, 1, 1, 1, 0),     # mixed strides
    (1, 4, 6, 7, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 1),     # no padding (plane shrinks)
    (1, 3, 5, 4, 3, 3, 1, 1, 1, 1, 2, 2, 2, 2, 1),     # padding wider than the window's reach
    (1, 3, 8, 8, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 3),     # 5x5: generic window
    (1, 3, 9, 9, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1),     # dilation 2
    (1, 2, 9, 9, 3, 3, 2, 1, 2, 1, 1, 1, 1, 1, 1),
    (1, 2, 1, 9, 1, 3, 1, 1, 1, 1, 0, 1, 0, 1, 1),     # 1-D
    (2, 3, 1, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1),     # 1x1 plane: only padding around
    (1, 3, 26, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 3),    # taller than wide: column lines, even count
    (1, 2, 5, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2),     # column lines, odd last line, clip
    (1, 2, 2, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1),     # one pair of rows: both paddings masked
    (1, 2, 4, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0),     # columns of 4 (no steady loop)
    (1, 3, 3, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1),     # three rows in one pass
    (1, 3, 9, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1),     # column pairs: first and last
    (1, 3, 9, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0),     # column pairs (first, middle) + three columns
    (1, 3, 8, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2),     # column pairs first, middle, last
    (1, 2, 4, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 3),     # three columns in one pass
    (1, 2, 13, 14, 3, 3, 2, 2, 1, 1, 0, 0, 1, 1, 0),  # stride 2, Keras padding, odd output count
    (1, 3, 24, 24, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1),  # stride 2 line pairs, top pair over the padding
    (1, 2, 11, 7, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 2),   # stride 2: odd last line, right edge window
    (1, 2, 4, 3, 3, 3, 2, 2, 1, 1, 0, 0, 1, 1, 3),    # stride 2: one pair, bottom row over the padding
    (1, 2, 3, 2, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1),    # stride 2 on a plane narrower than the window
]


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Path:
    exe = tmp_path_factory.mktemp("depthwise") / "depthwise_host"
    srcs = [str(RUNTIME / "src" / f) for f in SOURCES]
    subprocess.run(["gcc", *WARN, *SANITIZE, "-O1", f"-I{RUNTIME / 'include'}", f"-I{RUNTIME / 'src'}", str(HARNESS),
                    *srcs, "-lm", "-o", str(exe)], check=True)
    return exe


@pytest.mark.parametrize("case", HOST_CASES, ids=lambda c: "-".join(map(str, c)))
def test_dsp_depthwise_matches_ref_out_of_place_and_in_place(harness: Path, case: tuple[int, ...]) -> None:
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")
    r = subprocess.run([str(harness), *map(str, case)], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    oh, ow, e_out, e_in, e_twin = r.stdout.split()
    h, w, pads = case[2], case[3], case[10:14]
    want_oh = (h + pads[0] + pads[2] - (case[4] - 1) * case[8] - 1) // case[6] + 1
    want_ow = (w + pads[1] + pads[3] - (case[5] - 1) * case[9] - 1) // case[7] + 1
    assert (int(oh), int(ow)) == (want_oh, want_ow)
    assert float(e_out) <= 1e-6
    assert float(e_twin) == 0.0  # mf_depthwise_f32_ref is the reference conv
    if want_oh * want_ow <= h * w:  # the overwrite kernel takes it: it must match too
        assert 0.0 <= float(e_in) <= 1e-6


# ---------------------------------------------------------------- qemu

DW_SHAPES = [Conv(64, 64, 25, 5, groups=64), Conv(5, 5, 7, 9, groups=5, act="MF_ACT_NONE"),
             Conv(24, 24, 10, 13, groups=24), Conv(3, 3, 20, 19, groups=3),  # wider than a vector
             Conv(6, 6, 9, 11, groups=6, stride=2), Conv(4, 4, 6, 6, groups=4, stride=2, act="MF_ACT_NONE"),
             Conv(3, 3, 7, 8, groups=3, k=5, pad=2)]
VECTOR = [("rv32-rvv", "f32", "rvv"), ("rv32-rvv", "f16", "rvv"), ("cortex-m55-an547", "f32", "mve"),
          ("cortex-m55-an547", "f16", "mve"), ("stm32f746-disco", "f32", "dsp")]


def _check(board: str, dtype: str, isa: str, shape: Gemm | Conv, tmp_path: Path, inplace: bool = False) -> None:
    from fixtures.sim_support import require_tools

    b = load_board(board)
    require_tools(b)
    r = run_kernel(b, shape, dtype, isa, out_dir=tmp_path, inplace=inplace)
    scale = max(1.0, float(np.max(np.abs(r.ref))))
    assert float(np.max(np.abs(r.fast - r.ref))) <= KERNEL_TOL[dtype] * scale
    assert r.instructions > 0


@pytest.mark.qemu
@pytest.mark.parametrize("board,dtype,isa", VECTOR)
@pytest.mark.parametrize("shape", DW_SHAPES, ids=str)
def test_depthwise_matches_ref(board: str, dtype: str, isa: str, shape: Conv, tmp_path: Path) -> None:
    _check(board, dtype, isa, shape, tmp_path)


@pytest.mark.qemu
@pytest.mark.parametrize("board,dtype,isa", VECTOR)
@pytest.mark.parametrize("shape", [DW_SHAPES[0], DW_SHAPES[3], DW_SHAPES[4], Conv(10, 7, 6, 5, k=1, pad=0)], ids=str)
def test_overwrite_conv_in_place_matches_ref(board: str, dtype: str, isa: str, shape: Conv, tmp_path: Path) -> None:
    """y over x: depthwise (ring of rows on dsp; on the vector ISAs narrow 3x3 planes over
    themselves, others through a plane copy; at stride 2 direct writes) and pointwise tiles."""
    _check(board, dtype, isa, shape, tmp_path, inplace=True)


# The M7 stride-2 pair loop (inline assembly, four columns a step): steps then a two-column
# step and the right-edge window on an odd width, an odd last line, no padding (carried columns
# from column 0), and a plane too narrow for a step.
S2_DSP_SHAPES = [Conv(3, 3, 13, 21, groups=3, stride=2), Conv(3, 3, 13, 21, groups=3, stride=2, act="MF_ACT_NONE"),
                 Conv(2, 2, 9, 17, groups=2, stride=2, pad=0), Conv(2, 2, 6, 7, groups=2, stride=2)]


@pytest.mark.qemu
@pytest.mark.parametrize("board", ["stm32f746-disco", "stm32f405-netduinoplus2"])  # the M4 has no VMAXNM
@pytest.mark.parametrize("shape", S2_DSP_SHAPES, ids=str)
def test_dsp_stride2_pair_loop_matches_ref(board: str, shape: Conv, tmp_path: Path) -> None:
    _check(board, "f32", "dsp", shape, tmp_path)


FP32_SHAPES = [Gemm(13, 29, 37), Gemm(7, 9, 5), Conv(13, 7, 9, 11), Conv(5, 9, 7, 6, stride=2),
               Conv(6, 10, 5, 7, k=1, pad=0), Conv(8, 12, 6, 5, k=1, stride=2, pad=0, act="MF_ACT_NONE")]


@pytest.mark.qemu
@pytest.mark.parametrize("board,isa", [("rv32-rvv", "rvv"), ("cortex-m55-an547", "mve")])
@pytest.mark.parametrize("shape", FP32_SHAPES, ids=str)
def test_fp32_vector_kernels_match_ref(board: str, isa: str, shape: Gemm | Conv, tmp_path: Path) -> None:
    _check(board, "f32", isa, shape, tmp_path)


# RVV 3x3 stride-1 planes narrow enough for whole rows per vector (narrow3) run over their own
# input, each vector stored one vector late: full vectors then a tail (9x4: FP16 one of 4 rows
# + 3, FP32 three of 2 + 1), no tail (11x5), a single inner row (3x7), none (2x6), and the
# activation applied after the plane (sigmoid).
RVV_INPLACE_SHAPES = [Conv(3, 3, 9, 4, groups=3), Conv(4, 4, 11, 5, groups=4, act="MF_ACT_NONE"),
                      Conv(2, 2, 3, 7, groups=2, act="MF_ACT_SIGMOID"), Conv(2, 2, 2, 6, groups=2)]


@pytest.mark.qemu
@pytest.mark.parametrize("dtype", ["f16", "f32"])
@pytest.mark.parametrize("shape", RVV_INPLACE_SHAPES, ids=str)
def test_rvv_narrow_depthwise_in_place_matches_ref(dtype: str, shape: Conv, tmp_path: Path) -> None:
    _check("rv32-rvv", dtype, "rvv", shape, tmp_path, inplace=True)
