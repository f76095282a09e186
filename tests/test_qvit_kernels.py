"""The integer ViT kernels (mf_{matmul,layernorm}_s8_{ref,mve,rvv}, mf_matmul_s8_dsp, mf_int8_vit.h): the C
reference is bit-exact with the numpy twins of ops/qtransformer.py on the host, and each
SIMD variant is bit-exact with the reference in the same QEMU binary, over shapes with
vector tails (n, k and cols not multiples of the lane count, a single column, batches,
B as [k][n] and as [n][k]) and a constant LayerNorm row (zero variance)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from toolchain.boards import load_board

sys.path.insert(0, str(Path(__file__).parent / "kernels"))
from vitharness import LayerNormS8, MatMulS8, run_vit_kernel  # noqa: E402

SHAPES = [MatMulS8(2, 5, 13, 19), MatMulS8(1, 3, 37, 64, b_trans=True), MatMulS8(2, 4, 8, 7, b_trans=True),
          MatMulS8(1, 3, 17, 226), LayerNormS8(3, 1), LayerNormS8(4, 13), LayerNormS8(3, 128), LayerNormS8(2, 1000)]
SIMD = [("stm32f746-disco", "dsp"), ("cortex-m55-an547", "mve"), ("rv32-rvv", "rvv")]
MATMULS = [s for s in SHAPES if isinstance(s, MatMulS8)]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_reference_is_the_numpy_twin(shape, tmp_path: Path) -> None:
    r = run_vit_kernel(load_board("host"), shape, "ref", out_dir=tmp_path)
    np.testing.assert_array_equal(r.ref, r.want)
    assert len(np.unique(r.want)) >= min(8, r.want.size // 2), "outputs should spread, not sit at a clamp"


def _cases():
    """Every shape on Helium and RVV; the M7's DSP variant exists for the MatMul only."""
    return [(s, b, i) for b, i in SIMD for s in (SHAPES if i != "dsp" else MATMULS)]


@pytest.mark.qemu
@pytest.mark.parametrize("shape,board,isa", _cases(), ids=lambda v: str(v) if not isinstance(v, str) else v)
def test_simd_kernel_is_bit_exact_with_ref(shape, board: str, isa: str, tmp_path: Path) -> None:
    r = run_vit_kernel(load_board(board), shape, isa, out_dir=tmp_path)
    np.testing.assert_array_equal(r.ref, r.want)
    np.testing.assert_array_equal(r.fast, r.ref)
    assert r.instructions > 0
