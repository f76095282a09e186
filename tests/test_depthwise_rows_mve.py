"""The Helium depthwise kernel for planes one vector wide (runtime_c/src/depthwise_rows_mve.inc:
3x3 "same", stride 1, one output row per predicated vector, issue 19) against the reference in
the same QEMU binary, out of place and written over its own input (it needs no plane copy), on
every width it takes (2..8 halves in FP16, 2..4 floats in FP32), odd heights, the two-row
plane, no activation, ReLU and an activation applied after the plane; and the DS-CNN shape's
MACs per instruction (an exact count, not a time) above issue 19's bar."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from toolchain.boards import load_board

sys.path.insert(0, str(Path(__file__).resolve().parent / "kernels"))
from kharness import Conv, run_kernel  # noqa: E402

BOARD = "cortex-m55-an547"
TOL = {"f32": 1e-5, "f16": 1e-2}  # as tests/test_depthwise.py: relative to max(1, max |ref|)

SHAPES = [Conv(5, 5, 9, 4, groups=5),                             # FP32 and FP16: rows3_4
          Conv(3, 3, 2, 8, groups=3, act="MF_ACT_NONE"),          # two rows, a full FP16 vector
          Conv(4, 4, 11, 7, groups=4, act="MF_ACT_SIGMOID"),      # activation after the plane
          Conv(3, 3, 6, 3, groups=3), Conv(2, 2, 3, 2, groups=2),  # narrowest widths
          Conv(6, 6, 13, 5, groups=6, act="MF_ACT_NONE"),         # DS-CNN's width, odd height
          Conv(2, 2, 4, 6, groups=2)]


def _run(dtype: str, shape: Conv, tmp_path: Path, inplace: bool):
    from fixtures.sim_support import require_tools

    b = load_board(BOARD)
    require_tools(b)
    r = run_kernel(b, shape, dtype, "mve", out_dir=tmp_path, inplace=inplace)
    scale = max(1.0, float(np.max(np.abs(r.ref))))
    assert float(np.max(np.abs(r.fast - r.ref))) <= TOL[dtype] * scale
    return r


@pytest.mark.qemu
@pytest.mark.parametrize("inplace", [False, True], ids=["out", "inplace"])
@pytest.mark.parametrize("dtype", ["f16", "f32"])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s.c_out}ch-{s.h}x{s.w}-{s.act[7:].lower()}")
def test_narrow_plane_kernel_matches_ref(dtype: str, shape: Conv, inplace: bool, tmp_path: Path) -> None:
    _run(dtype, shape, tmp_path, inplace)


@pytest.mark.qemu
@pytest.mark.parametrize("inplace", [False, True], ids=["out", "inplace"])
def test_dscnn_depthwise_fp16_above_issue_bar(inplace: bool, tmp_path: Path) -> None:
    """Issue 19: >= 1.5 MACs per executed instruction with FP16 SIMD, in place as well (1.76
    with this kernel; 1.13 and 1.06 with the flat-run kernel before it)."""
    r = _run("f16", Conv(64, 64, 25, 5, groups=64), tmp_path, inplace)
    assert r.macs_per_instruction >= 1.5
