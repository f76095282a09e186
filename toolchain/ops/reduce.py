"""ReduceMean, ReduceSum, ReduceMax, ReduceMin, ReduceProd, ReduceSumSquare, ReduceL1/L2."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from toolchain.ir.graph import Node, Tensor
from toolchain.ops.kernel_table import Sig, kernels
from toolchain.ops.base import (
    Attrs, Call, LowerCtx, Op, OutSpec, TensorArg, int_array, lit, norm_axis, register,
    strides_of, struct,
)
from toolchain.ops.elementwise import BinaryParams
from toolchain.ops.grad import Builder, backward_rule, unsupported
from toolchain.ops.movement import ShapeArg
from toolchain.ops.shape import ViewParams

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
    def torch_ref(cls, p: ReduceParams, xs: list, torch: Any) -> list:
        x, ax, kd = xs[0], list(p.axes), p.keepdims
        if not ax:
            return [x]
        return [{"MEAN": lambda: x.mean(ax, kd), "SUM": lambda: x.sum(ax, kd), "MAX": lambda: x.amax(ax, kd),
                 "MIN": lambda: x.amin(ax, kd), "SUM_SQUARE": lambda: (x * x).sum(ax, kd),
                 "L1": lambda: x.abs().sum(ax, kd), "L2": lambda: (x * x).sum(ax, kd).sqrt(),
                 "PROD": lambda: x.prod(ax[0], kd) if len(ax) == 1 else None}[p.op]()]

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

    @classmethod
    def sum_to(cls, b: Builder, n: Node, g: str, shape: tuple[int, ...]) -> str:
        """sum_to below, for the element-wise family's backward (which cannot import this module)."""
        return sum_to(b, n, g, shape)


# ---------------------------------------------------------------- kernel table
kernels("mf_reduce", "reduce_{dtype}_ref.c", sig=Sig("mf_reduce.h", "const {t} *x, {t} *y, const mf_reduce_desc *d"))


# ---------------------------------------------------------------- backward

def sum_to(b: Builder, n: Node, g: str, shape: tuple[int, ...]) -> str:
    """Sum a broadcast gradient back to an operand's shape."""
    gs = b.shape(g)
    if gs == tuple(shape):
        return g
    full = (1,) * (len(gs) - len(shape)) + tuple(shape)
    axes = tuple(i for i, (d, o) in enumerate(zip(full, gs)) if d == 1 and o != 1)
    r = b.add("ReduceSum", [g], [full], ReduceParams("SUM", axes, True), n.origin, g)[0]
    return r if full == tuple(shape) else b.add("Reshape", [r], [shape], ViewParams(tuple(shape)), n.origin, g)[0]


@backward_rule('ReduceSum', 'ReduceMean')
def _reduce_backward(b: Builder, n: Node, gy: str, need: set[str], train: set[str], wgrads: dict[str, str]) -> None:
    x = n.inputs[0]
    p = n.params
    if x not in need:
        return
    if p.op not in ("SUM", "MEAN"):
        raise unsupported(n, f"no backward for Reduce {p.op}")
    xs = b.shape(x)
    kept = tuple(1 if i in p.axes else d for i, d in enumerate(xs))
    g = gy if b.shape(gy) == kept else b.add("Reshape", [gy], [kept], ViewParams(kept), n.origin, gy)[0]
    if p.op == "MEAN":
        count = int(np.prod([xs[i] for i in p.axes], dtype=np.int64))
        k = b.const(f"{n.name}/1/count", np.array(1.0 / count, np.float32))
        g = b.add("Mul", [g, k], [kept], BinaryParams("MUL"), n.origin, x)[0]
    b.accumulate(x, b.add("Expand", [g], [xs], ShapeArg(xs), n.origin, x)[0])
