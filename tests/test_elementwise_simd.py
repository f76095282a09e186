"""FP32 SIMD element-wise kernels (issue 19): mf_unary_f32_<isa> and mf_binary_f32_<isa> on RVV
and Helium against their references in the same QEMU binary (tests/kernels/elementwise.c on harness.py:
tails, sub-vector lengths, in place, per-channel/row/scalar broadcasts, a strided operand and
the fallback kinds), and the lowering picks them on those boards."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from toolchain.boards import load_board
from toolchain.codegen.target import kernel_target
from toolchain.ops import REGISTRY  # noqa: F401  (registers every family's kernels)
from toolchain.ops.kernel_table import available

KERNELS = Path(__file__).resolve().parent / "kernels"
sys.path.insert(0, str(KERNELS))
from harness import Case, run  # noqa: E402

BOARDS = [("rv32-rvv", "rvv"), ("cortex-m55-an547", "mve")]
N_CHECKED = 237 + 561  # the unary then the binary cases' outputs, as elementwise.c lists them


@pytest.mark.parametrize("isa", ["rvv", "mve"])
def test_registered(isa: str) -> None:
    have = available()
    assert f"mf_unary_f32_{isa}" in have and f"mf_binary_f32_{isa}" in have


@pytest.mark.parametrize("board,isa", BOARDS)
def test_lowering_picks_the_simd_kernels(board: str, isa: str) -> None:
    from toolchain.ops.base import LowerCtx

    ctx = LowerCtx({}, kernel_target(load_board(board)), available())
    assert ctx.kernel("unary") == f"mf_unary_f32_{isa}"
    assert ctx.kernel("binary") == f"mf_binary_f32_{isa}"


@pytest.mark.qemu
@pytest.mark.parametrize("board,isa", BOARDS)
def test_simd_elementwise_matches_ref(board: str, isa: str, tmp_path: Path) -> None:
    from fixtures.sim_support import require_tools

    b = load_board(board)
    require_tools(b)
    unary, binary = f"mf_unary_f32_{isa}", f"mf_binary_f32_{isa}"
    x = np.random.default_rng(0).uniform(-1, 1, 256).astype(np.float32)
    x[128:] += np.sign(x[128:]) * 0.1  # divisors away from 0
    r = run(b, Case(KERNELS / "elementwise.c", {unary, binary, "mf_unary_f32_ref", "mf_binary_f32_ref"}, {"x": x},
                    {"fast": 1024, "ref": 1024}, {"EW_UNARY": unary, "EW_BINARY": binary}), out_dir=tmp_path)
    fast, ref = r.fast[:N_CHECKED], r.ref[:N_CHECKED]
    assert np.any(ref != 0) and np.all(np.isfinite(ref))
    # the same operations in FP32; only HardSigmoid/affine may fuse a multiply-add (1 ulp)
    np.testing.assert_allclose(fast, ref, rtol=1e-6, atol=1e-7)
    assert np.all(r.fast[N_CHECKED:] == 0)
    assert r.instructions > 0
