"""Views (Reshape, Flatten, Squeeze, Unsqueeze, Identity, Dropout: the same bytes under a new
shape, no kernel) and ops that only ever fold to constants (Shape, Size, Constant, Cast,
ConstantOfShape, Range, DequantizeLinear, comparisons, Where...).

Exporters emit shape arithmetic (Shape -> Gather -> Unsqueeze -> Concat -> Reshape) that
depends only on static shapes; once shapes are bound it all folds away in the frontend.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from toolchain.ir.graph import Node, Tensor
from toolchain.ops.base import Attrs, Op, OutSpec, norm_axis, register
from toolchain.ops.grad import Builder, backward_rule


@dataclass(frozen=True)
class ViewParams:
    shape: tuple[int, ...]


def _reshape_target(attrs: Attrs, in_shape: tuple[int, ...], target: tuple[int, ...], allowzero: bool) -> tuple[int, ...]:
    out = [in_shape[i] if (d == 0 and not allowzero) else d for i, d in enumerate(target)]
    if out.count(-1) > 1:
        raise attrs.error(f"shape {target} has more than one -1")
    total = int(np.prod(in_shape, dtype=np.int64))
    if -1 in out:
        known = int(np.prod([d for d in out if d != -1], dtype=np.int64))
        if known == 0 or total % known:
            raise attrs.error(f"cannot reshape {in_shape} to {target}")
        out[out.index(-1)] = total // known
    if int(np.prod(out, dtype=np.int64)) != total:
        raise attrs.error(f"cannot reshape {in_shape} to {target}")
    return tuple(out)


@register
class View(Op):
    op_types = ("Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Dropout")
    view = True
    config_inputs = (1, 2)  # Reshape's shape, Squeeze's axes, Dropout's ratio and mode

    @classmethod
    def parse(cls, attrs: Attrs, ins: list[Tensor | None], opset: int) -> ViewParams:
        t, s = attrs.op_type, ins[0].shape
        rank = len(s)
        if t == "Reshape":
            if opset < 5:
                target = attrs.ints("shape")
            else:
                shp = ins[1]
                if shp.data is None:
                    raise attrs.error(f"shape input {shp.name!r} is not constant (a dynamic reshape)")
                target = tuple(int(v) for v in shp.data.reshape(-1))
            return ViewParams(_reshape_target(attrs, s, target, bool(attrs.int("allowzero", 0))))
        if t == "Flatten":
            a = attrs.int("axis", 1)
            a = a + rank if a < 0 else a
            return ViewParams((int(np.prod(s[:a], dtype=np.int64)), int(np.prod(s[a:], dtype=np.int64))))
        if t in ("Squeeze", "Unsqueeze"):
            if opset < 13:
                axes = attrs.ints("axes")
            else:
                ax = ins[1] if len(ins) > 1 else None
                if ax is not None and ax.data is None:
                    raise attrs.error(f"axes input {ax.name!r} must be a constant")
                axes = None if ax is None else tuple(int(v) for v in ax.data.reshape(-1))
            if t == "Squeeze":
                if axes is None:
                    return ViewParams(tuple(d for d in s if d != 1))
                norm = {norm_axis(a, rank, attrs) for a in axes}
                if any(s[a] != 1 for a in norm):
                    raise attrs.error(f"cannot squeeze a dim that is not 1 in {s}")
                return ViewParams(tuple(d for i, d in enumerate(s) if i not in norm))
            if axes is None:
                raise attrs.error("axes are required")
            out_rank = rank + len(axes)
            norm = {norm_axis(a, out_rank, attrs) for a in axes}
            it = iter(s)
            return ViewParams(tuple(1 if i in norm else next(it) for i in range(out_rank)))
        if t == "Dropout" and len(ins) > 2 and ins[2] is not None:
            tm = ins[2]
            if tm.data is None or bool(np.asarray(tm.data).reshape(-1)[0]):
                raise attrs.error("training_mode must be a constant false")
        return ViewParams(tuple(s))

    @classmethod
    def infer(cls, p: ViewParams, ins: list[Tensor]) -> list[OutSpec]:
        return [OutSpec(p.shape, ins[0].dtype)]

    @classmethod
    def reference(cls, p: ViewParams, xs: list[np.ndarray]) -> list[np.ndarray]:
        return [xs[0].reshape(p.shape).copy()]


# ---------------------------------------------------------------- fold-only


@dataclass(frozen=True)
class FoldParams:
    attrs: tuple[tuple[str, object], ...]

    def get(self, key: str, default: object = None) -> object:
        return dict(self.attrs).get(key, default)


_CAST = {1: "float32", 2: "uint8", 3: "int8", 5: "int16", 6: "int32", 7: "int64", 9: "bool",
         10: "float16", 11: "float64"}


@register
class Fold(Op):
    """Ops whose every input is static in a deployable model; they run only in numpy."""

    op_types = ("Shape", "Size", "Constant", "ConstantOfShape", "Cast", "CastLike", "Range",
                "DequantizeLinear", "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual",
                "Not", "And", "Or", "Where", "NonZero", "Mod")
    fold_only = True

    @classmethod
    def parse(cls, attrs: Attrs, ins: list[Tensor | None], opset: int) -> FoldParams:
        keep = {}
        for k in ("to", "start", "end", "axis", "fmod", "value", "value_float", "value_floats",
                  "value_int", "value_ints", "block_size"):
            if attrs.has(k):
                keep[k] = attrs.tensor(k) if k == "value" else attrs._v[k]  # noqa: SLF001
        if attrs.op_type == "Constant" and not keep:
            raise attrs.error("only value/value_float(s)/value_int(s) constants are supported")
        if attrs.op_type == "Shape":
            keep["start"], keep["end"] = attrs.int("start", 0), attrs.int("end", 2**31)
        return FoldParams(tuple(keep.items()))

    @classmethod
    def infer(cls, p: FoldParams, ins: list[Tensor]) -> list[OutSpec]:
        raise NotImplementedError  # never called: fold-only ops are evaluated, not inferred

    @classmethod
    def reference_for(cls, op_type: str, p: FoldParams, xs: list[np.ndarray | None],
                      shapes: list[tuple[int, ...]]) -> list[np.ndarray]:
        if op_type == "Shape":
            s = np.array(shapes[0], dtype=np.int64)
            start, end = int(p.get("start")), int(p.get("end"))
            return [s[slice(start, end if end < 2**31 else None)]]
        if op_type == "Size":
            return [np.array(int(np.prod(shapes[0], dtype=np.int64)), dtype=np.int64)]
        if op_type == "Constant":
            for k, f in (("value", lambda v: np.asarray(v)), ("value_float", lambda v: np.array(v, np.float32)),
                         ("value_floats", lambda v: np.array(v, np.float32)), ("value_int", lambda v: np.array(v, np.int64)),
                         ("value_ints", lambda v: np.array(v, np.int64))):
                if p.get(k) is not None:
                    return [f(p.get(k))]
        if op_type == "ConstantOfShape":
            v = p.get("value")
            fill = np.asarray(v).reshape(-1) if v is not None else np.zeros(1, np.float32)
            return [np.full(tuple(int(d) for d in xs[0]), fill[0], dtype=fill.dtype)]
        if op_type == "Cast":
            return [xs[0].astype(_CAST[int(p.get("to"))])]
        if op_type == "CastLike":
            return [xs[0].astype(xs[1].dtype)]
        if op_type == "Range":
            return [np.arange(xs[0], xs[1], xs[2]).astype(xs[0].dtype)]
        if op_type == "DequantizeLinear":
            return [_dequantize(xs, p)]
        if op_type == "Where":
            return [np.where(xs[0], xs[1], xs[2])]
        if op_type == "NonZero":
            return [np.array(np.nonzero(xs[0]), dtype=np.int64)]
        if op_type == "Mod":
            return [np.fmod(xs[0], xs[1]) if p.get("fmod", 0) else np.mod(xs[0], xs[1])]
        f = {"Equal": np.equal, "Less": np.less, "Greater": np.greater, "LessOrEqual": np.less_equal,
             "GreaterOrEqual": np.greater_equal, "And": np.logical_and, "Or": np.logical_or,
             "Not": lambda a: np.logical_not(a)}[op_type]
        return [np.asarray(f(*xs))]


def _dequantize(xs: list[np.ndarray | None], p: FoldParams) -> np.ndarray:
    x, scale = xs[0], xs[1]
    zp = xs[2] if len(xs) > 2 and xs[2] is not None else np.zeros((), x.dtype)
    if scale.ndim == 1 and scale.size > 1:  # per-axis
        axis = int(p.get("axis", 1))
        axis = axis + x.ndim if axis < 0 else axis
        shape = [1] * x.ndim
        shape[axis] = -1
        scale, zp = scale.reshape(shape), zp.reshape(shape)
    return ((x.astype(np.int32) - zp.astype(np.int32)).astype(np.float32) * scale).astype(scale.dtype)


# ---------------------------------------------------------------- backward

@backward_rule('Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Identity', 'Dropout')
def _view_backward(b: Builder, n: Node, gy: str, need: set[str], train: set[str], wgrads: dict[str, str]) -> None:
    x = n.inputs[0]
    if x in need:
        b.accumulate(x, b.add("Reshape", [gy], [b.shape(x)], ViewParams(b.shape(x)), n.origin, x)[0])
