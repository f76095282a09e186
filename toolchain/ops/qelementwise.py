"""int8 element-wise ops: TFLM-style integer Add, and row requantisation, which serves
Concat (inputs of differing scales land in the output's) and bare DQ -> Q pairs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from toolchain.ir.graph import Graph, Node, QuantInfo, Tensor
from toolchain.ops.base import Call, LowerCtx, Op, OutSpec, TensorArg, lit, register, struct
from toolchain.ops.requant import Requant, quantize_multiplier, requant
from toolchain.ops.kernel_table import Sig, kernels
from toolchain.ops.movement import COPY_SIG

ADD_LEFT_SHIFT = 20  # as TFLM: inputs lifted by 2^20 before rescaling keep 20 more bits


@dataclass(frozen=True)
class QAddParams:
    a_zp: int
    b_zp: int
    a_mult: int
    a_shift: int
    b_mult: int
    b_shift: int
    rq: Requant
    left_shift: int = ADD_LEFT_SHIFT


def qadd_params(a: QuantInfo, b: QuantInfo, out: QuantInfo, act_min: int, act_max: int) -> QAddParams:
    """TFLM's derivation: both inputs to a common scale 2 * max(sa, sb), then to the output."""
    twice = 2.0 * max(a.s, b.s)
    am, ash = quantize_multiplier(a.s / twice)
    bm, bsh = quantize_multiplier(b.s / twice)
    rq = Requant.from_scales(twice / ((1 << ADD_LEFT_SHIFT) * out.s), out.zp, act_min, act_max)
    return QAddParams(a.zp, b.zp, am, ash, bm, bsh, rq)


@register
class QAdd(Op):
    op_types = ("QAdd",)
    internal = True

    @classmethod
    def infer(cls, p: QAddParams, ins: list[Tensor]) -> list[OutSpec]:
        return [OutSpec(ins[0].shape, ins[0].dtype)]

    @classmethod
    def reference(cls, p: QAddParams, xs: list[np.ndarray]) -> list[np.ndarray]:
        a = (xs[0].astype(np.int64) - p.a_zp) << p.left_shift
        b = (xs[1].astype(np.int64) - p.b_zp) << p.left_shift
        return [p.rq.apply(requant(a, p.a_mult, p.a_shift) + requant(b, p.b_mult, p.b_shift))]

    @staticmethod
    def desc(p: QAddParams, n: int):
        return struct("mf_add_s8_desc", n=lit(n), a_zp=lit(p.a_zp), b_zp=lit(p.b_zp),
                      left_shift=lit(p.left_shift), a_mult=lit(p.a_mult), a_shift=lit(p.a_shift),
                      b_mult=lit(p.b_mult), b_shift=lit(p.b_shift),
                      rq=struct("mf_requant_s8", **p.rq.struct_fields()))

    @classmethod
    def lower(cls, p: QAddParams, node: Node, ctx: LowerCtx) -> list[Call]:
        desc = cls.desc(p, int(np.prod(ctx.shape(node.outputs[0]), dtype=np.int64)))
        return [Call(ctx.kernel("add", "s8"), (TensorArg(node.inputs[0]), TensorArg(node.inputs[1]),
                                                  TensorArg(node.outputs[0]), desc))]

    @classmethod
    def alias_candidates(cls, p: QAddParams, node: Node, g: Graph) -> list[tuple[str, str]]:
        out = g.tensors[node.outputs[0]]
        return [(i, "inplace") for i in node.inputs[:2]
                if not g.tensors[i].is_const and g.tensors[i].shape == out.shape]


@dataclass(frozen=True)
class QConcatParams:
    """Concat along axis; each input requantised to the output (identity when equal)."""

    axis: int
    in_zps: tuple[int, ...]
    rqs: tuple[Requant, ...]


def identity_or_rescale(x: QuantInfo, out: QuantInfo) -> Requant:
    return Requant.from_scales(x.s / out.s, out.zp)


@register
class QConcat(Op):
    op_types = ("QConcat",)  # also a single-input DQ -> Q requantisation (axis 0)
    internal = True

    @classmethod
    def infer(cls, p: QConcatParams, ins: list[Tensor]) -> list[OutSpec]:
        shape = list(ins[0].shape)
        shape[p.axis] = sum(t.shape[p.axis] for t in ins)
        return [OutSpec(tuple(shape), ins[0].dtype)]

    @classmethod
    def reference(cls, p: QConcatParams, xs: list[np.ndarray]) -> list[np.ndarray]:
        parts = [rq.apply(x.astype(np.int64) - zp) for x, zp, rq in zip(xs, p.in_zps, p.rqs)]
        return [np.concatenate(parts, axis=p.axis)]

    @classmethod
    def lower(cls, p: QConcatParams, node: Node, ctx: LowerCtx) -> list[Call]:
        out = ctx.shape(node.outputs[0])
        outer = int(np.prod(out[:p.axis], dtype=np.int64))
        out_stride = int(np.prod(out[p.axis:], dtype=np.int64))
        calls, offset = [], 0
        for name, zp, rq in zip(node.inputs, p.in_zps, p.rqs):
            inner = int(np.prod(ctx.shape(name)[p.axis:], dtype=np.int64))
            desc = struct("mf_requant_s8_desc", outer=lit(outer), inner=lit(inner), out_stride=lit(out_stride),
                          in_zp=lit(zp), rq=struct("mf_requant_s8", **rq.struct_fields()))
            calls.append(Call(ctx.kernel("requant", "s8", ()), (TensorArg(name), TensorArg(node.outputs[0], offset),
                                                                desc)))
            offset += inner
        return calls


# the kernel table (ops/kernel_table.py): the int8 reference kernels of this family
ADD_SIG = Sig("mf_int8.h", "const int8_t *a, const int8_t *b, int8_t *y, const mf_add_s8_desc *d")
kernels("mf_add", "quant_s8_ref.c", ("s8",), sig=ADD_SIG)
# the requantisations as prepared multiply-high steps (qrq_s8.inc); with mf_add_row_s8_<isa>
kernels("mf_add", "qadd_s8_{isa}.c", ("s8",), ("dsp", "mve", "rvv"), needs=("quant_s8_ref.c", "qadd_row_s8_ref.c"),
        sig=ADD_SIG)
kernels("mf_requant", "quant_s8_ref.c", ("s8",), sig=Sig("mf_int8.h", "const int8_t *x, int8_t *y, const mf_requant_s8_desc *d"))
kernels("mf_copy", "copy_s8_ref.c", ("s8",), sig=COPY_SIG)  # movement ops on int8 bytes (ops/movement.py's copy_call)
