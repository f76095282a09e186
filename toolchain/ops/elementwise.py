"""Element-wise ops: activations (one kernel, an activation record) and broadcasting binaries."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from toolchain.errors import UnsupportedOpError
from toolchain.ir.graph import Node, Tensor
from toolchain.ops.kernel_table import kernels
from toolchain.ops.base import (
    Attrs, Call, LowerCtx, Op, OutSpec, TensorArg, broadcast_shape, broadcast_strides,
    collapse, int_array, lit, register, require_float, struct,
)


@dataclass(frozen=True)
class Act:
    """An activation: C enum name plus its two float parameters."""

    kind: str = "NONE"
    alpha: float = 0.0
    beta: float = 0.0

    def struct(self):
        return struct("mf_act", kind=lit(f"MF_ACT_{self.kind}"), alpha=lit(self.alpha), beta=lit(self.beta))


def _erf(x: np.ndarray) -> np.ndarray:
    return np.vectorize(math.erf, otypes=[np.float64])(x.astype(np.float64)).astype(x.dtype)


def apply_act(act: Act, x: np.ndarray) -> np.ndarray:
    """numpy twin of mf_act_apply_f32 (computed in float64, returned in x's dtype)."""
    v = x.astype(np.float64)
    a, b = act.alpha, act.beta
    with np.errstate(all="ignore"):
        r = {
            "NONE": lambda: v,
            "RELU": lambda: np.maximum(v, 0),
            "CLIP": lambda: np.minimum(np.maximum(v, a), b),
            "LEAKY_RELU": lambda: np.where(v >= 0, v, a * v),
            "ELU": lambda: np.where(v >= 0, v, a * (np.exp(v) - 1)),
            "SELU": lambda: b * np.where(v > 0, v, a * (np.exp(v) - 1)),
            "SIGMOID": lambda: 1 / (1 + np.exp(-v)),
            "HARD_SIGMOID": lambda: np.clip(a * v + b, 0, 1),
            "HARD_SWISH": lambda: v * np.clip(v / 6 + 0.5, 0, 1),
            "TANH": lambda: np.tanh(v),
            "GELU": lambda: 0.5 * v * (1 + _erf(v / math.sqrt(2))),
            "GELU_TANH": lambda: 0.5 * v * (1 + np.tanh(math.sqrt(2 / math.pi) * (v + 0.044715 * v**3))),
            "ERF": lambda: _erf(v),
            "SQRT": lambda: np.sqrt(v),
            "EXP": lambda: np.exp(v),
            "LOG": lambda: np.log(v),
            "NEG": lambda: -v,
            "ABS": lambda: np.abs(v),
            "RECIPROCAL": lambda: 1 / v,
            "SOFTPLUS": lambda: np.log1p(np.exp(v)),
            "SOFTSIGN": lambda: v / (1 + np.abs(v)),
            "FLOOR": lambda: np.floor(v),
            "CEIL": lambda: np.ceil(v),
            "SIN": lambda: np.sin(v),
            "COS": lambda: np.cos(v),
            "POW_CONST": lambda: np.power(v, a),
            "AFFINE": lambda: a * v + b,
            "SWISH": lambda: v / (1 + np.exp(-a * v)),
        }[act.kind]()
    return np.asarray(r).astype(x.dtype)


# ONNX op type -> (activation kind, attribute defaults (alpha, beta) read from attrs)
UNARY_OPS: dict[str, tuple[str, tuple[tuple[str, float], ...]]] = {
    "Relu": ("RELU", ()),
    "LeakyRelu": ("LEAKY_RELU", (("alpha", 0.01),)),
    "Elu": ("ELU", (("alpha", 1.0),)),
    "Selu": ("SELU", (("alpha", 1.67326319217681884765625), ("gamma", 1.05070102214813232421875))),
    "Sigmoid": ("SIGMOID", ()),
    "HardSigmoid": ("HARD_SIGMOID", (("alpha", 0.2), ("beta", 0.5))),
    "HardSwish": ("HARD_SWISH", ()),
    "Tanh": ("TANH", ()),
    "Erf": ("ERF", ()),
    "Sqrt": ("SQRT", ()),
    "Exp": ("EXP", ()),
    "Log": ("LOG", ()),
    "Neg": ("NEG", ()),
    "Abs": ("ABS", ()),
    "Reciprocal": ("RECIPROCAL", ()),
    "Softplus": ("SOFTPLUS", ()),
    "Softsign": ("SOFTSIGN", ()),
    "Floor": ("FLOOR", ()),
    "Ceil": ("CEIL", ()),
    "Sin": ("SIN", ()),
    "Cos": ("COS", ()),
    "Swish": ("SWISH", (("alpha", 1.0),)),
}


@dataclass(frozen=True)
class UnaryParams:
    act: Act


@register
class Unary(Op):
    op_types = tuple(UNARY_OPS) + ("Clip", "Gelu")
    config_inputs = (1, 2)  # Clip's min and max (opset >= 11)
    inplace = True

    @classmethod
    def parse(cls, attrs: Attrs, ins: list[Tensor | None], opset: int) -> UnaryParams:
        t = attrs.op_type
        if t == "Clip":
            if opset < 11:
                lo, hi = attrs.float("min", -3.4028234663852886e38), attrs.float("max", 3.4028234663852886e38)
            else:
                lo, hi = _clip_bound(attrs, ins, 1, -np.inf), _clip_bound(attrs, ins, 2, np.inf)
            return UnaryParams(Act("CLIP", lo, hi))
        if t == "Gelu":
            approx = attrs.str("approximate", "none")
            if approx not in ("none", "tanh"):
                raise attrs.error(f"approximate={approx!r} is not supported")
            return UnaryParams(Act("GELU" if approx == "none" else "GELU_TANH"))
        kind, defaults = UNARY_OPS[t]
        vals = [attrs.float(k, d) for k, d in defaults] + [0.0, 0.0]
        return UnaryParams(Act(kind, vals[0], vals[1]))

    @classmethod
    def infer(cls, p: UnaryParams, ins: list[Tensor]) -> list[OutSpec]:
        return [OutSpec(ins[0].shape, ins[0].dtype)]

    @classmethod
    def reference(cls, p: UnaryParams, xs: list[np.ndarray]) -> list[np.ndarray]:
        return [apply_act(p.act, xs[0])]

    @classmethod
    def lower(cls, p: UnaryParams, node: Node, ctx: LowerCtx) -> list[Call]:
        n = int(np.prod(ctx.shape(node.inputs[0]), dtype=np.int64))
        return [Call(ctx.kernel("unary"), (TensorArg(node.inputs[0]), TensorArg(node.outputs[0]),
                                         lit(n), p.act.struct()))]


def _clip_bound(attrs: Attrs, ins: list[Tensor | None], i: int, default: float) -> float:
    if i >= len(ins) or ins[i] is None:
        return float(default)
    t = ins[i]
    if t.data is None:
        raise attrs.error(f"bound input {t.name!r} must be a constant")
    return float(np.asarray(t.data).reshape(()))


# ---------------------------------------------------------------- binary

_BINARY = {"Add": "ADD", "Sub": "SUB", "Mul": "MUL", "Div": "DIV", "Pow": "POW",
           "Max": "MAX", "Min": "MIN", "PRelu": "PRELU"}


@dataclass(frozen=True)
class BinaryParams:
    op: str
    act: Act = Act()


def _np_binary(op: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        if op == "DIV" and np.issubdtype(a.dtype, np.integer):
            return np.trunc(a / b).astype(a.dtype)
        if op == "POW":
            return np.power(a.astype(np.float64), b).astype(a.dtype)
        if op == "PRELU":
            return np.where(a >= 0, a, a * b).astype(a.dtype)
        f = {"ADD": np.add, "SUB": np.subtract, "MUL": np.multiply, "DIV": np.divide,
             "MAX": np.maximum, "MIN": np.minimum}[op]
        return f(a, b).astype(a.dtype)


@register
class Binary(Op):
    op_types = tuple(_BINARY)
    inplace = True  # only when the aliased input is not broadcast: see memory.aliases

    @classmethod
    def parse(cls, attrs: Attrs, ins: list[Tensor | None], opset: int) -> BinaryParams:
        if len(ins) != 2:
            raise attrs.error(f"{len(ins)} inputs; only 2 are supported")
        if opset < 7 and attrs.has("broadcast"):
            raise attrs.error("legacy broadcast attribute (opset < 7) is not supported")
        return BinaryParams(_BINARY[attrs.op_type])

    @classmethod
    def infer(cls, p: BinaryParams, ins: list[Tensor]) -> list[OutSpec]:
        if p.op == "PRELU":
            # PRelu's slope broadcasts onto X (unidirectionally).
            if broadcast_shape(ins[0].shape, ins[1].shape) != tuple(ins[0].shape):
                raise UnsupportedOpError(f"PRelu: slope {ins[1].shape} does not broadcast to {ins[0].shape} "
                                         f"(opset < 7 per-channel slopes are not supported)")
            return [OutSpec(ins[0].shape, ins[0].dtype)]
        return [OutSpec(broadcast_shape(ins[0].shape, ins[1].shape), ins[0].dtype)]

    @classmethod
    def reference(cls, p: BinaryParams, xs: list[np.ndarray]) -> list[np.ndarray]:
        return [apply_act(p.act, _np_binary(p.op, xs[0], xs[1]))]

    @classmethod
    def lower(cls, p: BinaryParams, node: Node, ctx: LowerCtx) -> list[Call]:
        a, b = node.inputs
        out = ctx.shape(node.outputs[0])
        require_float(node.name, node.op_type, [ctx.tensors[a], ctx.tensors[b]])
        shape, (sa, sb) = collapse(out, broadcast_strides(ctx.shape(a), out),
                                   broadcast_strides(ctx.shape(b), out))
        desc = struct("mf_binary_desc", rank=lit(len(shape)), shape=int_array(shape),
                      a_stride=int_array(sa), b_stride=int_array(sb),
                      op=lit(f"MF_BIN_{p.op}"), act=p.act.struct())
        return [Call(ctx.kernel("binary"), (TensorArg(a), TensorArg(b), TensorArg(node.outputs[0]), desc))]

    @classmethod
    def macs(cls, p: BinaryParams, ins: list[Tensor], outs: list[Tensor]) -> int:
        return 0


# ---------------------------------------------------------------- kernel table
kernels("mf_unary", "elementwise_{dtype}_ref.c", needs=("elementwise_f32_ref.c",))
kernels("mf_binary", "elementwise_{dtype}_ref.c", needs=("elementwise_f32_ref.c",))
