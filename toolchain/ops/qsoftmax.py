"""int8 Softmax over the last axis with no float at run time (as TFLM/CMSIS-NN): the exp of
every possible max - x (0..255) is a compile-time table, the rest is integer arithmetic
(mf_softmax_s8_ref, mf_int8.h)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from toolchain.errors import UnsupportedOpError
from toolchain.ir.graph import Node, QuantInfo, Tensor
from toolchain.ops.base import Call, IntArray, LowerCtx, Op, OutSpec, TensorArg, lit, register, struct
from toolchain.ops.requant import quantize_multiplier
from toolchain.ops.kernel_table import Sig, kernels

LUT_BITS = 23  # exp(0) = 2^23: 24 significant bits, and lut * out_mult < 2^54


@dataclass(frozen=True)
class QSoftmaxParams:
    lut: tuple[int, ...]
    out_mult: int
    out_shift: int
    out_zp: int


def qsoftmax_params(x: QuantInfo, out: QuantInfo, cols: int, beta: float = 1.0) -> QSoftmaxParams:
    lut = tuple(int(round(np.exp(-beta * x.s * d) * (1 << LUT_BITS))) for d in range(256))
    mult, shift = quantize_multiplier(1.0 / out.s)
    # den = sum << (31 - shift) must stay below 2^63 with sum <= cols * 2^23
    if np.log2(cols) + LUT_BITS + 31 - shift >= 62:
        raise UnsupportedOpError(f"int8 softmax over {cols} values with output scale {out.s:.3g} "
                                 "overflows the 64-bit sum")
    return QSoftmaxParams(lut, mult, shift, out.zp)


@register
class QSoftmax(Op):
    op_types = ("QSoftmax",)
    internal = True
    inplace = True

    @classmethod
    def infer(cls, p: QSoftmaxParams, ins: list[Tensor]) -> list[OutSpec]:
        return [OutSpec(ins[0].shape, ins[0].dtype)]

    @classmethod
    def reference(cls, p: QSoftmaxParams, xs: list[np.ndarray]) -> list[np.ndarray]:
        x = xs[0].astype(np.int64)
        lut = np.asarray(p.lut, np.int64)
        e = lut[x.max(axis=-1, keepdims=True) - x]
        den = e.sum(axis=-1, keepdims=True) << (31 - p.out_shift)
        q = (e * p.out_mult + den // 2) // den
        return [np.clip(q + p.out_zp, -128, 127).astype(np.int8)]

    @classmethod
    def lower(cls, p: QSoftmaxParams, node: Node, ctx: LowerCtx) -> list[Call]:
        s = ctx.shape(node.inputs[0])
        cols = s[-1]
        rows = int(np.prod(s, dtype=np.int64)) // cols
        desc = struct("mf_softmax_s8_desc", rows=lit(rows), cols=lit(cols), lut=IntArray(p.lut),
                      out_mult=lit(p.out_mult), out_shift=lit(p.out_shift), out_zp=lit(p.out_zp))
        return [Call(ctx.kernel("softmax", "s8"), (TensorArg(node.inputs[0]), TensorArg(node.outputs[0]), desc))]



# the kernel table (ops/kernel_table.py): the int8 reference kernels of this family
SOFTMAX_SIG = Sig("mf_int8.h", "const int8_t *x, int8_t *y, const mf_softmax_s8_desc *d")
kernels("mf_softmax", "softmax_s8_ref.c", ("s8",), sig=SOFTMAX_SIG)
# without the per-element division (softmax_s8_row.inc); the reference where the walk does not apply
kernels("mf_softmax", "softmax_s8_{isa}.c", ("s8",), ("dsp", "mve", "rvv"), needs=("softmax_s8_ref.c",), sig=SOFTMAX_SIG)
