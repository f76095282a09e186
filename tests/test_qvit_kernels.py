"""The integer ViT kernels (mf_{matmul,layernorm,lut,softmax,mul,add,add_row}_s8_{ref,dsp,mve,rvv};
mf_int8_vit.h, mf_int8.h): the C reference is bit-exact with the numpy twins of
ops/qtransformer.py (qsoftmax.py, qelementwise.py) on the host, and each SIMD variant is
bit-exact with the reference in the same QEMU binary, over shapes with vector tails (n, k
and cols not multiples of the lane count, a single column, batches, B as [k][n] and as
[n][k]), a constant LayerNorm and softmax row, a softmax row at both clamps, softmax tables
that are not monotone (the output-table walk's general path), and activation clamps."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from toolchain.boards import load_board

sys.path.insert(0, str(Path(__file__).parent / "kernels"))
from vitharness import AddS8, LayerNormS8, LutS8, MatMulS8, MulS8, SoftmaxS8, run_vit_kernel  # noqa: E402

ELEMENTWISE = [LutS8(37), LutS8(16), SoftmaxS8(3, 226), SoftmaxS8(4, 13, 0.3, -5), SoftmaxS8(2, 1),
               SoftmaxS8(3, 77, 0.05, -128, monotone=False), SoftmaxS8(3, 40, 0.02, 3, monotone=False),
               MulS8(29), MulS8(8, relu=True), AddS8(45), AddS8(7, a_scale=0.02, relu=True), AddS8(19, rows=5),
               AddS8(128, rows=3, a_scale=0.08), AddS8(70, rows=2, relu=True)]
SHAPES = [MatMulS8(2, 5, 13, 19), MatMulS8(1, 3, 37, 64, b_trans=True), MatMulS8(2, 4, 8, 7, b_trans=True),
          MatMulS8(1, 3, 17, 226), LayerNormS8(3, 1), LayerNormS8(4, 13), LayerNormS8(3, 128),
          LayerNormS8(2, 1000)] + ELEMENTWISE
SIMD = [("stm32f746-disco", "dsp"), ("cortex-m55-an547", "mve"), ("rv32-rvv", "rvv")]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_reference_is_the_numpy_twin(shape, tmp_path: Path) -> None:
    r = run_vit_kernel(load_board("host"), shape, "ref", out_dir=tmp_path)
    np.testing.assert_array_equal(r.ref, r.want)
    # (a softmax with a small output zero point sits at its clamp by design, a one-column
    # softmax is 1.0 everywhere)
    if not isinstance(shape, SoftmaxS8) or shape.cols > 1 and shape.out_zp == -128:
        assert len(np.unique(r.want)) >= min(8, r.want.size // 2), "outputs should spread, not sit at a clamp"


def _cases():
    """Every shape on the M7 (DSP), Helium and RVV."""
    return [(s, b, i) for b, i in SIMD for s in SHAPES]


@pytest.mark.qemu
@pytest.mark.parametrize("shape,board,isa", _cases(), ids=lambda v: str(v) if not isinstance(v, str) else v)
def test_simd_kernel_is_bit_exact_with_ref(shape, board: str, isa: str, tmp_path: Path) -> None:
    r = run_vit_kernel(load_board(board), shape, isa, out_dir=tmp_path)
    np.testing.assert_array_equal(r.ref, r.want)
    np.testing.assert_array_equal(r.fast, r.ref)
    assert r.instructions > 0
