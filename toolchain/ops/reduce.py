"""ReduceMean, ReduceSum, ReduceMax, ReduceMin, ReduceProd, ReduceSumSquare, ReduceL1/L2."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from toolchain.ir.graph import Node, Tensor
from toolchain.ops.kernel_table import Sig, kernels
from toolchain.ops.base import (
    Attrs, Call, LowerCtx, Op, OutSpec, TensorArg, int_array, lit, norm_axis, register,
    strides_of, struct,
)

_KINDS = {"ReduceMean": "MEAN", "ReduceSum": "SUM", "ReduceMax": "MAX", "ReduceMin": "MIN",
          "ReduceProd": "PROD", "ReduceSumSquare": "SUM_SQUARE", "ReduceL1": "L1", "ReduceL2": "L2"}


@dataclass(frozen=True)
class ReduceParams:
    op: str
    axes: tuple[int, ...]  # normalised, sorted; empty = nothing reduced
    keepdims: bool


def _axes_from_input(op_type: str, opset: int) -> bool:
    return opset >= 18 or (op_type == "ReduceSum" and opset >= 13)


@register
class Reduce(Op):
    op_types = tuple(_KINDS)
    config_inputs = (1,)

    @classmethod
    def parse(cls, attrs: Attrs, ins: list[Tensor | None], opset: int) -> ReduceParams:
        rank = len(ins[0].shape)
        if _axes_from_input(attrs.op_type, opset):
            t = ins[1] if len(ins) > 1 else None
            if t is not None and t.data is None:
                raise attrs.error(f"axes input {t.name!r} must be a constant")
            axes = None if t is None or t.size == 0 else tuple(int(a) for a in t.data.reshape(-1))
        else:
            axes = attrs.ints("axes")
        if axes is None:
            axes = () if attrs.int("noop_with_empty_axes", 0) else tuple(range(rank))
        norm = tuple(sorted({norm_axis(a, rank, attrs) for a in axes}))
        return ReduceParams(_KINDS[attrs.op_type], norm, bool(attrs.int("keepdims", 1)))

    @classmethod
    def infer(cls, p: ReduceParams, ins: list[Tensor]) -> list[OutSpec]:
        s = ins[0].shape
        out = tuple(1 if i in p.axes else d for i, d in enumerate(s)) if p.keepdims else \
            tuple(d for i, d in enumerate(s) if i not in p.axes)
        return [OutSpec(out, ins[0].dtype)]

    @classmethod
    def reference(cls, p: ReduceParams, xs: list[np.ndarray]) -> list[np.ndarray]:
        x = xs[0].astype(np.float64)
        ax = p.axes
        if not ax:
            return [xs[0].copy()]
        f = {"MEAN": lambda: x.mean(axis=ax, keepdims=p.keepdims),
             "SUM": lambda: x.sum(axis=ax, keepdims=p.keepdims),
             "MAX": lambda: x.max(axis=ax, keepdims=p.keepdims),
             "MIN": lambda: x.min(axis=ax, keepdims=p.keepdims),
             "PROD": lambda: x.prod(axis=ax, keepdims=p.keepdims),
             "SUM_SQUARE": lambda: (x * x).sum(axis=ax, keepdims=p.keepdims),
             "L1": lambda: np.abs(x).sum(axis=ax, keepdims=p.keepdims),
             "L2": lambda: np.sqrt((x * x).sum(axis=ax, keepdims=p.keepdims))}[p.op]
        return [np.asarray(f()).astype(xs[0].dtype)]

    @classmethod
    def macs(cls, p: ReduceParams, ins: list[Tensor], outs: list[Tensor]) -> int:
        return ins[0].size

    @classmethod
    def lower(cls, p: ReduceParams, node: Node, ctx: LowerCtx) -> list[Call]:
        shape = ctx.shape(node.inputs[0])
        st = strides_of(shape)
        keep = [i for i in range(len(shape)) if i not in p.axes]
        out_shape = [shape[i] for i in keep] or [1]
        out_stride = [st[i] for i in keep] or [0]
        red_shape = [shape[i] for i in p.axes] or [1]
        red_stride = [st[i] for i in p.axes] or [0]
        desc = struct("mf_reduce_desc", out_rank=lit(len(out_shape)), out_shape=int_array(out_shape),
                      out_stride=int_array(out_stride), red_rank=lit(len(red_shape)),
                      red_shape=int_array(red_shape), red_stride=int_array(red_stride),
                      op=lit(f"MF_RED_{p.op}"))
        return [Call(ctx.kernel("reduce"), (TensorArg(node.inputs[0]), TensorArg(node.outputs[0]), desc))]


# ---------------------------------------------------------------- kernel table
kernels("mf_reduce", "reduce_{dtype}_ref.c", sig=Sig("mf_reduce.h", "const {t} *x, {t} *y, const mf_reduce_desc *d"))
