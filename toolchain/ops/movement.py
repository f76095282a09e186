"""Data movement: Transpose, Slice, Concat, Split, Gather, Pad, Expand, Tile.

All of them lower to the one strided, index-mapped copy kernel (mf_copy_f32_ref); what
differs is only the descriptor prepared here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from toolchain.errors import UnsupportedOpError
from toolchain.ir.graph import Node, Tensor
from toolchain.ops.kernel_table import Sig, kernels
from toolchain.ops.base import (
    Array, Attrs, Call, IntArray, LowerCtx, Lit, Op, OutSpec, TensorArg, broadcast_shape,
    broadcast_strides, collapse, int_array, lit, norm_axis, register, strides_of, struct,
)
from toolchain.ops.grad import Builder, backward_rule, unsupported
from toolchain.ops.shape import ViewParams


def copy_call(ctx: LowerCtx, x: str, y: str, shape: list[int], in_stride: list[int], out_stride: list[int],
              index: list[tuple[int, ...] | None] | None = None, in_offset: int = 0,
              out_offset: int = 0, fill: float = 0.0) -> Call:
    if index is None or all(t is None for t in index):
        shape, (in_stride, out_stride) = collapse(shape, in_stride, out_stride)
        index = [None] * len(shape)
    tables = Array(tuple(IntArray(t) if t is not None else Lit("NULL") for t in index)
                   + (Lit("NULL"),) * (8 - len(index)))
    desc = struct("mf_copy_desc", rank=lit(len(shape)), shape=int_array(shape),
                  in_stride=int_array(in_stride), out_stride=int_array(out_stride), index=tables,
                  in_offset=lit(in_offset), out_offset=lit(out_offset), fill=lit(fill))
    return Call(ctx.kernel("copy"), (TensorArg(x), TensorArg(y), desc))


def _const_ints(attrs: Attrs, t: Tensor | None, what: str) -> tuple[int, ...] | None:
    if t is None:
        return None
    if t.data is None:
        raise attrs.error(f"{what} input {t.name!r} must be a constant")
    return tuple(int(v) for v in np.asarray(t.data).reshape(-1))


def _opt(ins: list[Tensor | None], i: int) -> Tensor | None:
    return ins[i] if i < len(ins) else None


# ---------------------------------------------------------------- Transpose


@dataclass(frozen=True)
class TransposeParams:
    perm: tuple[int, ...]


@register
class Transpose(Op):
    op_types = ("Transpose",)

    @classmethod
    def parse(cls, attrs: Attrs, ins: list[Tensor | None], opset: int) -> TransposeParams:
        rank = len(ins[0].shape)
        perm = attrs.ints("perm") or tuple(reversed(range(rank)))
        if sorted(perm) != list(range(rank)):
            raise attrs.error(f"perm {perm} is not a permutation of rank {rank}")
        return TransposeParams(tuple(perm))

    @classmethod
    def infer(cls, p: TransposeParams, ins: list[Tensor]) -> list[OutSpec]:
        return [OutSpec(tuple(ins[0].shape[i] for i in p.perm), ins[0].dtype)]

    @classmethod
    def reference(cls, p: TransposeParams, xs: list[np.ndarray]) -> list[np.ndarray]:
        return [np.ascontiguousarray(np.transpose(xs[0], p.perm))]

    @classmethod
    def torch_ref(cls, p: TransposeParams, xs: list, torch: Any) -> list:
        return [xs[0].permute(*p.perm)]

    @classmethod
    def lower(cls, p: TransposeParams, node: Node, ctx: LowerCtx) -> list[Call]:
        s = ctx.shape(node.inputs[0])
        st = strides_of(s)
        out = [s[i] for i in p.perm]
        return [copy_call(ctx, node.inputs[0], node.outputs[0], out, [st[i] for i in p.perm], strides_of(out))]


# ---------------------------------------------------------------- Slice


@dataclass(frozen=True)
class SliceParams:
    starts: tuple[int, ...]  # per dim of the input, resolved and clamped
    steps: tuple[int, ...]
    lengths: tuple[int, ...]


def _slice_dim(dim: int, start: int, end: int, step: int) -> tuple[int, int]:
    """(first index, count) of ONNX/numpy slicing start:end:step on a dim of size `dim`."""
    idx = range(dim)[slice(start, end, step)]
    return (idx.start if len(idx) else 0), len(idx)


@register
class Slice(Op):
    op_types = ("Slice",)
    config_inputs = (1, 2, 3, 4)

    @classmethod
    def parse(cls, attrs: Attrs, ins: list[Tensor | None], opset: int) -> SliceParams:
        shape = ins[0].shape
        if opset < 10:
            starts, ends, axes, steps = attrs.ints("starts"), attrs.ints("ends"), attrs.ints("axes"), None
        else:
            starts = _const_ints(attrs, _opt(ins, 1), "starts")
            ends = _const_ints(attrs, _opt(ins, 2), "ends")
            axes = _const_ints(attrs, _opt(ins, 3), "axes")
            steps = _const_ints(attrs, _opt(ins, 4), "steps")
        if starts is None or ends is None:
            raise attrs.error("starts and ends are required")
        axes = axes or tuple(range(len(starts)))
        steps = steps or (1,) * len(starts)
        first, step, count = [0] * len(shape), [1] * len(shape), list(shape)
        for a, s, e, k in zip(axes, starts, ends, steps):
            d = norm_axis(a, len(shape), attrs)
            if k == 0:
                raise attrs.error("step 0")
            big = 2**62
            first[d], count[d] = _slice_dim(shape[d], max(min(s, big), -big), max(min(e, big), -big), k)
            step[d] = k
        return SliceParams(tuple(first), tuple(step), tuple(count))

    @classmethod
    def infer(cls, p: SliceParams, ins: list[Tensor]) -> list[OutSpec]:
        return [OutSpec(p.lengths, ins[0].dtype)]

    @classmethod
    def reference(cls, p: SliceParams, xs: list[np.ndarray]) -> list[np.ndarray]:
        sl = tuple(slice(f, f + k * n, k) if n else slice(0, 0)
                   for f, k, n in zip(p.starts, p.steps, p.lengths))
        sl = tuple(slice(s.start, None if s.stop is not None and s.stop < 0 else s.stop, s.step) for s in sl)
        return [np.ascontiguousarray(xs[0][sl])]

    @classmethod
    def torch_ref(cls, p: SliceParams, xs: list, torch: Any) -> list:
        x = xs[0]
        for d, (s, k, c) in enumerate(zip(p.starts, p.steps, p.lengths)):
            idx = torch.arange(s, s + k * c, k) if c else torch.zeros(0, dtype=torch.long)
            x = torch.index_select(x, d, idx)
        return [x]

    @classmethod
    def lower(cls, p: SliceParams, node: Node, ctx: LowerCtx) -> list[Call]:
        st = strides_of(ctx.shape(node.inputs[0]))
        off = sum(f * s for f, s in zip(p.starts, st))
        return [copy_call(ctx, node.inputs[0], node.outputs[0], list(p.lengths),
                          [s * k for s, k in zip(st, p.steps)], strides_of(p.lengths), in_offset=off)]


# ---------------------------------------------------------------- Concat / Split


@dataclass(frozen=True)
class AxisParams:
    axis: int
    sizes: tuple[int, ...] = ()  # Split: the size of each output along axis


@register
class Concat(Op):
    op_types = ("Concat",)

    @classmethod
    def parse(cls, attrs: Attrs, ins: list[Tensor | None], opset: int) -> AxisParams:
        return AxisParams(norm_axis(attrs.int("axis", 1 if opset < 4 else None), len(ins[0].shape), attrs))

    @classmethod
    def infer(cls, p: AxisParams, ins: list[Tensor]) -> list[OutSpec]:
        s = list(ins[0].shape)
        s[p.axis] = sum(t.shape[p.axis] for t in ins)
        return [OutSpec(tuple(s), ins[0].dtype)]

    @classmethod
    def reference(cls, p: AxisParams, xs: list[np.ndarray]) -> list[np.ndarray]:
        return [np.concatenate(xs, axis=p.axis)]

    @classmethod
    def torch_ref(cls, p: AxisParams, xs: list, torch: Any) -> list:
        return [torch.cat(xs, p.axis)]

    @classmethod
    def lower(cls, p: AxisParams, node: Node, ctx: LowerCtx) -> list[Call]:
        out = ctx.shape(node.outputs[0])
        ost = strides_of(out)
        calls, pos = [], 0
        for name in node.inputs:
            s = ctx.shape(name)
            if s[p.axis]:
                calls.append(copy_call(ctx, name, node.outputs[0], list(s), strides_of(s), ost,
                                       out_offset=pos * ost[p.axis]))
            pos += s[p.axis]
        return calls


@register
class Split(Op):
    op_types = ("Split",)
    config_inputs = (1,)

    @classmethod
    def parse(cls, attrs: Attrs, ins: list[Tensor | None], opset: int) -> AxisParams:
        shape = ins[0].shape
        axis = norm_axis(attrs.int("axis", 0), len(shape), attrs)
        sizes = attrs.ints("split") if opset < 13 else _const_ints(attrs, _opt(ins, 1), "split")
        if not sizes:
            n = attrs.int("num_outputs", 0) or attrs.int("_num_outputs")
            chunk = -(-shape[axis] // n)
            sizes = tuple(min(chunk, shape[axis] - i * chunk) for i in range(n))
        if sum(sizes) != shape[axis]:
            raise attrs.error(f"split sizes {sizes} do not add up to {shape[axis]}")
        return AxisParams(axis, tuple(sizes))

    @classmethod
    def infer(cls, p: AxisParams, ins: list[Tensor]) -> list[OutSpec]:
        outs = []
        for n in p.sizes:
            s = list(ins[0].shape)
            s[p.axis] = n
            outs.append(OutSpec(tuple(s), ins[0].dtype))
        return outs

    @classmethod
    def reference(cls, p: AxisParams, xs: list[np.ndarray]) -> list[np.ndarray]:
        return [np.ascontiguousarray(a) for a in np.split(xs[0], np.cumsum(p.sizes)[:-1], axis=p.axis)]

    @classmethod
    def torch_ref(cls, p: AxisParams, xs: list, torch: Any) -> list:
        return list(torch.split(xs[0], list(p.sizes), dim=p.axis))

    @classmethod
    def lower(cls, p: AxisParams, node: Node, ctx: LowerCtx) -> list[Call]:
        ist = strides_of(ctx.shape(node.inputs[0]))
        calls, pos = [], 0
        for name, n in zip(node.outputs, p.sizes):
            s = ctx.shape(name)
            if n:
                calls.append(copy_call(ctx, node.inputs[0], name, list(s), ist, strides_of(s), in_offset=pos * ist[p.axis]))
            pos += n
        return calls


# ---------------------------------------------------------------- Gather (constant indices)


@dataclass(frozen=True)
class GatherParams:
    axis: int
    indices: tuple[int, ...]  # normalised (non-negative), flattened
    index_shape: tuple[int, ...]


@register
class Gather(Op):
    op_types = ("Gather",)
    config_inputs = (1,)

    @classmethod
    def parse(cls, attrs: Attrs, ins: list[Tensor | None], opset: int) -> GatherParams:
        shape = ins[0].shape
        axis = norm_axis(attrs.int("axis", 0), len(shape), attrs)
        idx = ins[1]
        if idx.data is None:
            raise attrs.error(f"indices {idx.name!r} must be a constant (runtime indices are not supported)")
        vals = [int(v) + (shape[axis] if v < 0 else 0) for v in np.asarray(idx.data).reshape(-1)]
        if any(not 0 <= v < shape[axis] for v in vals):
            raise attrs.error(f"an index is out of range for a dim of size {shape[axis]}")
        return GatherParams(axis, tuple(vals), tuple(idx.shape))

    @classmethod
    def infer(cls, p: GatherParams, ins: list[Tensor]) -> list[OutSpec]:
        s = ins[0].shape
        return [OutSpec(s[:p.axis] + p.index_shape + s[p.axis + 1:], ins[0].dtype)]

    @classmethod
    def reference(cls, p: GatherParams, xs: list[np.ndarray]) -> list[np.ndarray]:
        idx = np.array(p.indices, dtype=np.int64).reshape(p.index_shape)
        return [np.take(xs[0], idx, axis=p.axis)]

    @classmethod
    def torch_ref(cls, p: GatherParams, xs: list, torch: Any) -> list:
        x = xs[0]
        y = torch.index_select(x, p.axis, torch.tensor(p.indices, dtype=torch.long))
        return [y.reshape(tuple(x.shape[:p.axis]) + p.index_shape + tuple(x.shape[p.axis + 1:]))]

    @classmethod
    def lower(cls, p: GatherParams, node: Node, ctx: LowerCtx) -> list[Call]:
        s = ctx.shape(node.inputs[0])
        st = strides_of(s)
        view = list(s[:p.axis]) + [len(p.indices)] + list(s[p.axis + 1:])
        index: list[tuple[int, ...] | None] = [None] * len(view)
        index[p.axis] = p.indices
        return [copy_call(ctx, node.inputs[0], node.outputs[0], view, st, strides_of(view), index=index)]


# ---------------------------------------------------------------- Pad


@dataclass(frozen=True)
class PadParams:
    begins: tuple[int, ...]
    ends: tuple[int, ...]
    mode: str
    value: float


def pad_index(n: int, begin: int, end: int, mode: str) -> tuple[int, ...]:
    """Input coordinate for each output coordinate along one dim (-1 = the fill value)."""
    out = []
    for i in range(n + begin + end):
        c = i - begin
        if 0 <= c < n:
            out.append(c)
        elif mode == "constant":
            out.append(-1)
        elif mode == "edge":
            out.append(min(max(c, 0), n - 1))
        elif mode == "wrap":
            out.append(c % n)
        else:  # reflect, without repeating the edge
            period = 2 * (n - 1) if n > 1 else 1
            m = c % period
            out.append(m if m < n else period - m)
    return tuple(out)


@register
class Pad(Op):
    op_types = ("Pad",)
    config_inputs = (1, 2, 3)

    @classmethod
    def parse(cls, attrs: Attrs, ins: list[Tensor | None], opset: int) -> PadParams:
        rank = len(ins[0].shape)
        mode = attrs.str("mode", "constant")
        if mode not in ("constant", "reflect", "edge", "wrap"):
            raise attrs.error(f"mode={mode!r} is not supported")
        if opset < 11:
            pads, value, axes = attrs.ints("pads"), attrs.float("value", 0.0), None
        else:
            pads = _const_ints(attrs, _opt(ins, 1), "pads")
            v = _opt(ins, 2)
            if v is not None and v.data is None:
                raise attrs.error(f"constant_value {v.name!r} must be a constant")
            value = float(np.asarray(v.data).reshape(-1)[0]) if v is not None and v.size else 0.0
            axes = _const_ints(attrs, _opt(ins, 3), "axes")
        axes = tuple(norm_axis(a, rank, attrs) for a in (axes or range(rank)))
        begins, ends = [0] * rank, [0] * rank
        for j, a in enumerate(axes):
            begins[a], ends[a] = pads[j], pads[j + len(axes)]
        return PadParams(tuple(begins), tuple(ends), mode, value)

    @classmethod
    def infer(cls, p: PadParams, ins: list[Tensor]) -> list[OutSpec]:
        return [OutSpec(tuple(d + b + e for d, b, e in zip(ins[0].shape, p.begins, p.ends)), ins[0].dtype)]

    @classmethod
    def reference(cls, p: PadParams, xs: list[np.ndarray]) -> list[np.ndarray]:
        x = xs[0]
        idx = [np.array(pad_index(n, b, e, p.mode)) for n, b, e in zip(x.shape, p.begins, p.ends)]
        grids = np.meshgrid(*idx, indexing="ij")
        fill = np.zeros(grids[0].shape, bool)
        for g in grids:
            fill |= g < 0
        y = x[tuple(np.clip(g, 0, None) for g in grids)] if x.size else np.zeros(grids[0].shape, x.dtype)
        return [np.where(fill, np.asarray(p.value, x.dtype), y).astype(x.dtype)]

    @classmethod
    def torch_ref(cls, p: PadParams, xs: list, torch: Any) -> list:
        if p.mode != "constant":
            raise UnsupportedOpError("the torch reference pads with constants only")
        pads: list[int] = []
        for bgn, end in zip(reversed(p.begins), reversed(p.ends)):
            pads += [bgn, end]
        return [torch.nn.functional.pad(xs[0], pads, value=p.value)]

    @classmethod
    def lower(cls, p: PadParams, node: Node, ctx: LowerCtx) -> list[Call]:
        s = ctx.shape(node.inputs[0])
        out = ctx.shape(node.outputs[0])
        index = [None if b == 0 and e == 0 else pad_index(n, b, e, p.mode)
                 for n, b, e in zip(s, p.begins, p.ends)]
        return [copy_call(ctx, node.inputs[0], node.outputs[0], list(out), strides_of(s), strides_of(out),
                          index=index, fill=p.value)]


# ---------------------------------------------------------------- Expand / Tile


@dataclass(frozen=True)
class ShapeArg:
    values: tuple[int, ...]


@register
class Expand(Op):
    op_types = ("Expand",)
    config_inputs = (1,)

    @classmethod
    def parse(cls, attrs: Attrs, ins: list[Tensor | None], opset: int) -> ShapeArg:
        return ShapeArg(_const_ints(attrs, ins[1], "shape"))

    @classmethod
    def infer(cls, p: ShapeArg, ins: list[Tensor]) -> list[OutSpec]:
        return [OutSpec(broadcast_shape(ins[0].shape, p.values), ins[0].dtype)]

    @classmethod
    def reference(cls, p: ShapeArg, xs: list[np.ndarray]) -> list[np.ndarray]:
        return [np.ascontiguousarray(xs[0] * np.ones(p.values, dtype=xs[0].dtype))]

    @classmethod
    def torch_ref(cls, p: ShapeArg, xs: list, torch: Any) -> list:
        return [xs[0].expand(*np.broadcast_shapes(tuple(xs[0].shape), p.values))]

    @classmethod
    def lower(cls, p: ShapeArg, node: Node, ctx: LowerCtx) -> list[Call]:
        out = ctx.shape(node.outputs[0])
        return [copy_call(ctx, node.inputs[0], node.outputs[0], list(out),
                          broadcast_strides(ctx.shape(node.inputs[0]), out), strides_of(out))]


@register
class Tile(Op):
    op_types = ("Tile",)
    config_inputs = (1,)

    @classmethod
    def parse(cls, attrs: Attrs, ins: list[Tensor | None], opset: int) -> ShapeArg:
        return ShapeArg(_const_ints(attrs, ins[1], "repeats"))

    @classmethod
    def infer(cls, p: ShapeArg, ins: list[Tensor]) -> list[OutSpec]:
        return [OutSpec(tuple(d * r for d, r in zip(ins[0].shape, p.values)), ins[0].dtype)]

    @classmethod
    def reference(cls, p: ShapeArg, xs: list[np.ndarray]) -> list[np.ndarray]:
        return [np.tile(xs[0], p.values)]

    @classmethod
    def torch_ref(cls, p: ShapeArg, xs: list, torch: Any) -> list:
        return [xs[0].repeat(*p.values)]

    @classmethod
    def lower(cls, p: ShapeArg, node: Node, ctx: LowerCtx) -> list[Call]:
        s = ctx.shape(node.inputs[0])
        out = ctx.shape(node.outputs[0])
        index = [None if r == 1 else tuple(i % n for i in range(n * r)) for n, r in zip(s, p.values)]
        return [copy_call(ctx, node.inputs[0], node.outputs[0], list(out), strides_of(s), strides_of(out), index=index)]


# ---------------------------------------------------------------- kernel table
COPY_SIG = Sig("mf_copy.h", "const {t} *x, {t} *y, const mf_copy_desc *d")
kernels("mf_copy", "copy_{dtype}_ref.c", sig=COPY_SIG)


# ---------------------------------------------------------------- backward

@backward_rule('Transpose')
def _transpose_backward(b: Builder, n: Node, gy: str, need: set[str], train: set[str], wgrads: dict[str, str]) -> None:
    x = n.inputs[0]
    if x in need:
        inv = tuple(int(i) for i in np.argsort(n.params.perm))
        b.accumulate(x, b.add("Transpose", [gy], [b.shape(x)], TransposeParams(inv), n.origin, x)[0])


def _pad_back(b: Builder, n: Node, g: str, x: str, starts: list[int]) -> str:
    """Place g at `starts` inside a zero tensor of x's shape (the adjoint of a slice)."""
    xs, gs = b.shape(x), b.shape(g)
    ends = tuple(d - s - k for d, s, k in zip(xs, starts, gs))
    return b.add("Pad", [g], [xs], PadParams(tuple(starts), ends, "constant", 0.0), n.origin, x)[0]


@backward_rule('Gather')
def _gather_backward(b: Builder, n: Node, gy: str, need: set[str], train: set[str], wgrads: dict[str, str]) -> None:
    x = n.inputs[0]
    if x not in need:
        return
    p = n.params
    idx = list(p.indices)
    if idx != list(range(idx[0], idx[0] + len(idx))) or len(p.index_shape) > 1:
        raise unsupported(n, "only a contiguous run of indices has a backward")
    xs = b.shape(x)
    kept = xs[:p.axis] + (len(idx),) + xs[p.axis + 1:]
    g = gy if b.shape(gy) == kept else b.add("Reshape", [gy], [kept], ViewParams(kept), n.origin, gy)[0]
    starts = [0] * len(xs)
    starts[p.axis] = idx[0]
    b.accumulate(x, _pad_back(b, n, g, x, starts))


@backward_rule('Slice')
def _slice_backward(b: Builder, n: Node, gy: str, need: set[str], train: set[str], wgrads: dict[str, str]) -> None:
    x = n.inputs[0]
    if x not in need:
        return
    if any(s != 1 for s in n.params.steps):
        raise unsupported(n, "strided slices have no backward")
    b.accumulate(x, _pad_back(b, n, gy, x, list(n.params.starts)))


@backward_rule('Concat')
def _concat_backward(b: Builder, n: Node, gy: str, need: set[str], train: set[str], wgrads: dict[str, str]) -> None:
    pos, gs = 0, b.shape(gy)
    for x in n.inputs:
        xs = b.shape(x)
        if x in need:
            starts = [0] * len(gs)
            starts[n.params.axis] = pos
            p = SliceParams(tuple(starts), (1,) * len(gs), tuple(xs))
            b.accumulate(x, b.add("Slice", [gy], [xs], p, n.origin, x)[0])
        pos += xs[n.params.axis]


@backward_rule('Pad')
def _pad_backward(b: Builder, n: Node, gy: str, need: set[str], train: set[str], wgrads: dict[str, str]) -> None:
    x = n.inputs[0]
    if x not in need:
        return
    if n.params.mode != "constant" or any(v < 0 for v in n.params.begins + n.params.ends):
        raise unsupported(n, "only non-negative constant padding has a backward")
    p = SliceParams(tuple(n.params.begins), (1,) * len(n.params.begins), b.shape(x))
    b.accumulate(x, b.add("Slice", [gy], [b.shape(x)], p, n.origin, x)[0])
