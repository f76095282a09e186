"""Element-wise ops: activations (one kernel, an activation record) and broadcasting binaries."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from toolchain.errors import UnsupportedOpError
from toolchain.ir.graph import Node, Tensor
from toolchain.ops.kernel_table import Sig, kernels
from toolchain.ops.base import (
    Attrs, Call, LowerCtx, Op, OutSpec, TensorArg, broadcast_shape, broadcast_strides,
    REGISTRY, collapse, int_array, lit, register, require_float, struct,
)
from toolchain.ops.grad import Builder, TrainOp, backward_rule, bwd_kernel, unsupported


@dataclass(frozen=True)
class Act:
    """An activation: C enum name plus its two float parameters."""

    kind: str = "NONE"
    alpha: float = 0.0
    beta: float = 0.0

    def struct(self):
        return struct("mf_act", kind=lit(f"MF_ACT_{self.kind}"), alpha=lit(self.alpha), beta=lit(self.beta))


def _erf(x: np.ndarray) -> np.ndarray:
    return np.vectorize(math.erf, otypes=[np.float64])(np.asarray(x, np.float64))


def _sig(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


_KB, _KK = math.sqrt(2 / math.pi), 0.044715  # the tanh approximation of GELU


@dataclass(frozen=True)
class Activation:
    """One activation, all in one place: its numpy forward and derivative at the input (float64,
    alpha a and beta b), and its forward in PyTorch (torch module, x, a, b), the training
    oracle's. The C twins are the cases of mf_act_apply_f32 and mf_act_deriv_f32
    (elementwise_f32_ref.c), named by MF_ACT_<kind> (mf_types.h)."""

    forward: Callable[[np.ndarray, float, float], np.ndarray]
    deriv: Callable[[np.ndarray, float, float], np.ndarray]
    torch: Callable[[Any, Any, float, float], Any]


ACTIVATIONS: dict[str, Activation] = {
    "NONE": Activation(lambda v, a, b: v, lambda x, a, b: np.ones_like(x), lambda t, x, a, b: x),
    "RELU": Activation(lambda v, a, b: np.maximum(v, 0), lambda x, a, b: (x > 0) * 1.0, lambda t, x, a, b: t.relu(x)),
    "CLIP": Activation(lambda v, a, b: np.minimum(np.maximum(v, a), b), lambda x, a, b: ((x >= a) & (x <= b)) * 1.0,
                       lambda t, x, a, b: t.clamp(x, a, b)),
    "LEAKY_RELU": Activation(lambda v, a, b: np.where(v >= 0, v, a * v), lambda x, a, b: np.where(x > 0, 1.0, a),
                             lambda t, x, a, b: t.nn.functional.leaky_relu(x, a)),
    "ELU": Activation(lambda v, a, b: np.where(v >= 0, v, a * (np.exp(v) - 1)),
                      lambda x, a, b: np.where(x > 0, 1.0, a * np.exp(x)), lambda t, x, a, b: t.nn.functional.elu(x, a)),
    "SELU": Activation(lambda v, a, b: b * np.where(v > 0, v, a * (np.exp(v) - 1)),
                       lambda x, a, b: b * np.where(x > 0, 1.0, a * np.exp(x)),
                       lambda t, x, a, b: b * t.where(x > 0, x, a * (t.exp(x) - 1))),
    "SIGMOID": Activation(lambda v, a, b: _sig(v), lambda x, a, b: _sig(x) * (1 - _sig(x)),
                          lambda t, x, a, b: t.sigmoid(x)),
    "HARD_SIGMOID": Activation(lambda v, a, b: np.clip(a * v + b, 0, 1),
                               lambda x, a, b: a * ((a * x + b > 0) & (a * x + b < 1)),
                               lambda t, x, a, b: t.clamp(a * x + b, 0, 1)),
    "HARD_SWISH": Activation(lambda v, a, b: v * np.clip(v / 6 + 0.5, 0, 1),
                             lambda x, a, b: np.where(x < -3, 0.0, np.where(x <= 3, x / 3 + 0.5, 1.0)),
                             lambda t, x, a, b: t.nn.functional.hardswish(x)),
    "TANH": Activation(lambda v, a, b: np.tanh(v), lambda x, a, b: 1 - np.tanh(x) ** 2, lambda t, x, a, b: t.tanh(x)),
    "GELU": Activation(lambda v, a, b: 0.5 * v * (1 + _erf(v / math.sqrt(2))),
                       lambda x, a, b: 0.5 * (1 + _erf(x / math.sqrt(2))) + x * np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi),
                       lambda t, x, a, b: t.nn.functional.gelu(x)),
    "GELU_TANH": Activation(
        lambda v, a, b: 0.5 * v * (1 + np.tanh(_KB * (v + _KK * v**3))),
        lambda x, a, b: (0.5 * (1 + np.tanh(_KB * (x + _KK * x**3)))
                         + 0.5 * x * (1 - np.tanh(_KB * (x + _KK * x**3)) ** 2) * _KB * (1 + 3 * _KK * x * x)),
        lambda t, x, a, b: t.nn.functional.gelu(x, approximate="tanh")),
    "ERF": Activation(lambda v, a, b: _erf(v), lambda x, a, b: 2 / math.sqrt(math.pi) * np.exp(-x * x),
                      lambda t, x, a, b: t.erf(x)),
    "SQRT": Activation(lambda v, a, b: np.sqrt(v), lambda x, a, b: 0.5 / np.sqrt(x), lambda t, x, a, b: t.sqrt(x)),
    "EXP": Activation(lambda v, a, b: np.exp(v), lambda x, a, b: np.exp(x), lambda t, x, a, b: t.exp(x)),
    "LOG": Activation(lambda v, a, b: np.log(v), lambda x, a, b: 1 / x, lambda t, x, a, b: t.log(x)),
    "NEG": Activation(lambda v, a, b: -v, lambda x, a, b: -np.ones_like(x), lambda t, x, a, b: -x),
    "ABS": Activation(lambda v, a, b: np.abs(v), lambda x, a, b: np.sign(x), lambda t, x, a, b: t.abs(x)),
    "RECIPROCAL": Activation(lambda v, a, b: 1 / v, lambda x, a, b: -1 / (x * x), lambda t, x, a, b: 1 / x),
    "SOFTPLUS": Activation(lambda v, a, b: np.log1p(np.exp(v)), lambda x, a, b: np.where(x > 20, 1.0, _sig(x)),
                           lambda t, x, a, b: t.nn.functional.softplus(x)),
    "SOFTSIGN": Activation(lambda v, a, b: v / (1 + np.abs(v)), lambda x, a, b: 1 / (1 + np.abs(x)) ** 2,
                           lambda t, x, a, b: t.nn.functional.softsign(x)),
    "FLOOR": Activation(lambda v, a, b: np.floor(v), lambda x, a, b: np.zeros_like(x), lambda t, x, a, b: t.floor(x)),
    "CEIL": Activation(lambda v, a, b: np.ceil(v), lambda x, a, b: np.zeros_like(x), lambda t, x, a, b: t.ceil(x)),
    "SIN": Activation(lambda v, a, b: np.sin(v), lambda x, a, b: np.cos(x), lambda t, x, a, b: t.sin(x)),
    "COS": Activation(lambda v, a, b: np.cos(v), lambda x, a, b: -np.sin(x), lambda t, x, a, b: t.cos(x)),
    "POW_CONST": Activation(lambda v, a, b: np.power(v, a), lambda x, a, b: a * np.power(x, a - 1),
                            lambda t, x, a, b: t.pow(x, a)),
    "AFFINE": Activation(lambda v, a, b: a * v + b, lambda x, a, b: np.full_like(x, a), lambda t, x, a, b: a * x + b),
    "SWISH": Activation(lambda v, a, b: v / (1 + np.exp(-a * v)),
                        lambda x, a, b: _sig(a * x) * (1 + a * x * (1 - _sig(a * x))),
                        lambda t, x, a, b: x * t.sigmoid(a * x)),
    "MISH": Activation(lambda v, a, b: v * np.tanh(np.logaddexp(0, v)),
                       lambda x, a, b: (np.tanh(np.logaddexp(0, x))
                                        + x * (1 - np.tanh(np.logaddexp(0, x)) ** 2) * _sig(x)),
                       lambda t, x, a, b: t.nn.functional.mish(x)),
}


def apply_act(act: Act, x: np.ndarray) -> np.ndarray:
    """numpy twin of mf_act_apply_f32 (computed in float64, returned in x's dtype)."""
    with np.errstate(all="ignore"):
        r = ACTIVATIONS[act.kind].forward(x.astype(np.float64), act.alpha, act.beta)
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
    "Mish": ("MISH", ()),
}


def torch_act(p: object, x: Any, torch: Any) -> Any:
    """The PyTorch twin of a params' fused activation (p.act; none without one): every
    family's torch_ref ends with it."""
    a = getattr(p, "act", None)
    return x if a is None else ACTIVATIONS[a.kind].torch(torch, x, a.alpha, a.beta)


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
    def torch_ref(cls, p: UnaryParams, xs: list, torch: Any) -> list:
        return [torch_act(p, xs[0], torch)]

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
    def torch_ref(cls, p: BinaryParams, xs: list, torch: Any) -> list:
        a, b = xs
        y = {"ADD": lambda: a + b, "SUB": lambda: a - b, "MUL": lambda: a * b, "DIV": lambda: a / b,
             "POW": lambda: torch.pow(a, b), "MAX": lambda: torch.maximum(a, b), "MIN": lambda: torch.minimum(a, b),
             "PRELU": lambda: torch.where(a >= 0, a, a * b)}[p.op]()
        return [torch_act(p, y, torch)]

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
UNARY_SIG = Sig("mf_elementwise.h", "const {t} *x, {t} *y, int32_t n, const mf_act *act")
BINARY_SIG = Sig("mf_elementwise.h", "const {t} *a, const {t} *b, {t} *y, const mf_binary_desc *d")
kernels("mf_unary", "elementwise_{dtype}_ref.c", needs=("elementwise_f32_ref.c",), sig=UNARY_SIG)
# FP16 GELU/ReLU vectorised beside the SIMD LayerNorm/Softmax (norm_f16_<isa>.c); other
# activations fall back to the reference in the same call
kernels("mf_unary", "norm_f16_{isa}.c", ("f16",), ("rvv", "mve"),
        ("norm_f16_ref.c", "elementwise_f16_ref.c", "elementwise_f32_ref.c"), sig=UNARY_SIG)
kernels("mf_binary", "elementwise_{dtype}_ref.c", needs=("elementwise_f32_ref.c",), sig=BINARY_SIG)
# FP32 SIMD: the piecewise-linear activations and the broadcasting arithmetic vectorised; the
# rest falls back to the reference in the same call
kernels("mf_unary", "elementwise_f32_{isa}.c", ("f32",), ("rvv", "mve"), ("elementwise_f32_ref.c",), sig=UNARY_SIG)
kernels("mf_binary", "elementwise_f32_{isa}.c", ("f32",), ("rvv", "mve"), ("elementwise_f32_ref.c",), sig=BINARY_SIG)


# ---------------------------------------------------------------- backward

OUTPUT_DERIVABLE = ("NONE", "RELU", "CLIP", "SIGMOID", "TANH", "EXP")


def act_deriv(act: Act, v: np.ndarray, from_output: bool) -> np.ndarray:
    """d act / d x, at the input x (or from the output y when from_output), in float64."""
    x = v.astype(np.float64)
    a, b = act.alpha, act.beta
    if from_output:
        return {"NONE": lambda: np.ones_like(x), "RELU": lambda: (x > 0) * 1.0,
                "CLIP": lambda: ((x > a) & (x < b)) * 1.0, "SIGMOID": lambda: x * (1 - x),
                "TANH": lambda: 1 - x * x, "EXP": lambda: x}[act.kind]()
    with np.errstate(all="ignore"):
        return ACTIVATIONS[act.kind].deriv(x, a, b)


@dataclass(frozen=True)
class ActGradParams:
    act: Act
    from_output: bool


@register
class ActGrad(TrainOp):
    """inputs (dy, v) -> dx; v is the activation's input, or its output when from_output."""

    op_types = ("ActGrad",)
    inplace = True  # dx over dy, element by element

    @classmethod
    def infer(cls, p: ActGradParams, ins: list[Tensor]) -> list[OutSpec]:
        return [OutSpec(ins[0].shape, ins[0].dtype)]

    @classmethod
    def reference(cls, p: ActGradParams, xs: list[np.ndarray]) -> list[np.ndarray]:
        return [(xs[0] * act_deriv(p.act, xs[1], p.from_output)).astype(np.float32)]

    @classmethod
    def lower(cls, p: ActGradParams, node: Node, ctx: LowerCtx) -> list[Call]:
        n = int(np.prod(ctx.shape(node.inputs[0]), dtype=np.int64))
        return [Call(bwd_kernel(ctx, "mf_act_bwd_input"), (TensorArg(node.inputs[0]), TensorArg(node.inputs[1]),
                                                 TensorArg(node.outputs[0]), lit(n), p.act.struct(),
                                                 lit(p.from_output)))]


def act_grad(b: Builder, n: Node, gy: str) -> str:
    """Through a fused activation, from the node's output (only exact ones stay fused)."""
    act = getattr(n.params, "act", Act())
    if act.kind == "NONE":
        return gy
    return b.add("ActGrad", [gy, n.outputs[0]], [b.shape(gy)], ActGradParams(act, True), n.origin, n.outputs[0])[0]


def _sum_to(b: Builder, n: Node, g: str, shape: tuple[int, ...]) -> str:
    """A broadcast operand's gradient summed back to its shape, by the Reduce family (looked up,
    not imported: ops/reduce.py imports this module for the Mul of its own backward)."""
    return REGISTRY.ops["ReduceSum"].sum_to(b, n, g, shape)  # type: ignore[attr-defined, no-any-return]


@backward_rule(*Unary.op_types)
def _unary_backward(b: Builder, n: Node, gy: str, need: set[str], train: set[str], wgrads: dict[str, str]) -> None:
    x = n.inputs[0]
    if x in need:
        b.accumulate(x, b.add("ActGrad", [gy, x], [b.shape(x)], ActGradParams(n.params.act, False), n.origin, x)[0])


@backward_rule('Add', 'Sub', 'Mul', 'Div')
def _binary_backward(b: Builder, n: Node, gy: str, need: set[str], train: set[str], wgrads: dict[str, str]) -> None:
    op = n.params.op
    x, y = n.inputs
    g = act_grad(b, n, gy)
    out = b.shape(n.outputs[0])
    if op in ("ADD", "SUB"):
        if x in need:
            b.accumulate(x, _sum_to(b, n, g, b.shape(x)))
        if y in need:
            gg = g if op == "ADD" else b.add("Neg", [g], [out], UnaryParams(Act("NEG")), n.origin, y)[0]
            b.accumulate(y, _sum_to(b, n, gg, b.shape(y)))
    elif op == "MUL":
        for t, other in ((x, y), (y, x)):
            if t in need:
                gm = b.add("Mul", [g, other], [out], BinaryParams("MUL"), n.origin, t)[0]
                b.accumulate(t, _sum_to(b, n, gm, b.shape(t)))
    elif op == "DIV":
        if y in need:
            raise unsupported(n, "gradient of a divisor")
        if x in need:
            gd = b.add("Div", [g, y], [out], BinaryParams("DIV"), n.origin, x)[0]
            b.accumulate(x, _sum_to(b, n, gd, b.shape(x)))
    else:
        raise unsupported(n, f"no backward for {op}")


ACT_BWD_SIG = Sig("mf_elementwise.h", "const {t} *dy, const {t} *v, {t} *dx, int32_t n, const mf_act *act, int32_t from_output")
kernels("mf_act_bwd_input", "act_bwd_{dtype}_ref.c", needs=("act_bwd_f32_ref.c", "elementwise_f32_ref.c"), sig=ACT_BWD_SIG)
