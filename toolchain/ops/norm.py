"""Softmax / LogSoftmax, LayerNormalization, BatchNormalization (inference form)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from toolchain.ir.graph import Node, Tensor
from toolchain.ops.base import Attrs, Call, LowerCtx, Lit, Op, OutSpec, TensorArg, lit, norm_axis, register, struct
from toolchain.ops.grad import Builder, TrainOp, backward_rule, bwd_kernel, forward_desc, null_or, unsupported
from toolchain.ops.kernel_table import Sig, kernels


@dataclass(frozen=True)
class SoftmaxParams:
    axis: int
    flatten: bool  # opset < 13: coerce to 2-D at `axis`
    log: bool


def softmax_dims(p: SoftmaxParams, shape: tuple[int, ...]) -> tuple[int, int, int]:
    a = norm_axis(p.axis, len(shape))
    outer = int(np.prod(shape[:a], dtype=np.int64))
    if p.flatten:
        return outer, int(np.prod(shape[a:], dtype=np.int64)), 1
    return outer, shape[a], int(np.prod(shape[a + 1:], dtype=np.int64))


@register
class Softmax(Op):
    op_types = ("Softmax", "LogSoftmax")
    inplace = True

    @classmethod
    def parse(cls, attrs: Attrs, ins: list[Tensor | None], opset: int) -> SoftmaxParams:
        flatten = opset < 13
        axis = attrs.int("axis", 1 if flatten else -1)
        norm_axis(axis, len(ins[0].shape), attrs)
        return SoftmaxParams(axis, flatten, attrs.op_type == "LogSoftmax")

    @classmethod
    def infer(cls, p: SoftmaxParams, ins: list[Tensor]) -> list[OutSpec]:
        return [OutSpec(ins[0].shape, ins[0].dtype)]

    @classmethod
    def reference(cls, p: SoftmaxParams, xs: list[np.ndarray]) -> list[np.ndarray]:
        x = xs[0]
        o, a, i = softmax_dims(p, x.shape)
        v = x.astype(np.float64).reshape(o, a, i)
        v = v - v.max(axis=1, keepdims=True)
        y = v - np.log(np.exp(v).sum(axis=1, keepdims=True)) if p.log else np.exp(v) / np.exp(v).sum(axis=1, keepdims=True)
        return [y.reshape(x.shape).astype(x.dtype)]

    @classmethod
    def torch_ref(cls, p: SoftmaxParams, xs: list, torch: Any) -> list:
        x, F = xs[0], torch.nn.functional
        shape, axis = x.shape, p.axis % x.dim()
        v = x.reshape(int(np.prod(shape[:axis])), -1) if p.flatten else x
        ax = 1 if p.flatten else axis
        return [(F.log_softmax(v, ax) if p.log else F.softmax(v, ax)).reshape(shape)]

    @classmethod
    def lower(cls, p: SoftmaxParams, node: Node, ctx: LowerCtx) -> list[Call]:
        o, a, i = softmax_dims(p, ctx.shape(node.inputs[0]))
        desc = struct("mf_softmax_desc", outer=lit(o), axis_len=lit(a), inner=lit(i), log=lit(p.log))
        return [Call(ctx.kernel("softmax"), (TensorArg(node.inputs[0]), TensorArg(node.outputs[0]), desc))]


@dataclass(frozen=True)
class LayerNormParams:
    axis: int
    eps: float


@register
class LayerNorm(Op):
    op_types = ("LayerNormalization",)
    inplace = True
    weight_inputs = (1, 2)

    @classmethod
    def parse(cls, attrs: Attrs, ins: list[Tensor | None], opset: int) -> LayerNormParams:
        axis = norm_axis(attrs.int("axis", -1), len(ins[0].shape), attrs)
        if attrs.int("stash_type", 1) != 1:
            raise attrs.error("stash_type other than float32 is not supported")
        cols = int(np.prod(ins[0].shape[axis:]))
        for t in ins[1:]:
            if t is not None and t.size != cols:
                raise attrs.error(f"{t.name!r} has {t.size} elements; the normalised size is {cols}")
        return LayerNormParams(axis, attrs.float("epsilon", 1e-5))

    @classmethod
    def infer(cls, p: LayerNormParams, ins: list[Tensor]) -> list[OutSpec]:
        s = ins[0].shape
        stat = OutSpec(s[:p.axis] + (1,) * (len(s) - p.axis), ins[0].dtype)
        return [OutSpec(s, ins[0].dtype), stat, stat]  # Y, Mean, InvStdDev

    @classmethod
    def reference(cls, p: LayerNormParams, xs: list[np.ndarray]) -> list[np.ndarray]:
        x = xs[0]
        axes = tuple(range(p.axis, x.ndim))
        v = x.astype(np.float64)
        mean = v.mean(axis=axes, keepdims=True)
        var = ((v - mean) ** 2).mean(axis=axes, keepdims=True)
        y = (v - mean) / np.sqrt(var + p.eps)
        norm_shape = x.shape[p.axis:]
        if len(xs) > 1 and xs[1] is not None:
            y = y * xs[1].reshape(norm_shape)
        if len(xs) > 2 and xs[2] is not None:
            y = y + xs[2].reshape(norm_shape)
        return [y.astype(x.dtype), mean.astype(x.dtype), (1 / np.sqrt(var + p.eps)).astype(x.dtype)]

    @classmethod
    def torch_ref(cls, p: LayerNormParams, xs: list, torch: Any) -> list:
        x, g, b = xs[0], xs[1] if len(xs) > 1 else None, xs[2] if len(xs) > 2 else None
        ns = tuple(x.shape[p.axis:])
        return [torch.nn.functional.layer_norm(x, ns, None if g is None else g.reshape(ns),
                                               None if b is None else b.reshape(ns), p.eps)]

    @classmethod
    def macs(cls, p: LayerNormParams, ins: list[Tensor], outs: list[Tensor]) -> int:
        return 2 * ins[0].size

    @classmethod
    def lower(cls, p: LayerNormParams, node: Node, ctx: LowerCtx) -> list[Call]:
        shape = ctx.shape(node.inputs[0])
        rows = int(np.prod(shape[:p.axis], dtype=np.int64))
        cols = int(np.prod(shape[p.axis:], dtype=np.int64))
        desc = struct("mf_layernorm_desc", rows=lit(rows), cols=lit(cols), eps=lit(p.eps))
        opt = [TensorArg(node.inputs[i]) if len(node.inputs) > i and node.inputs[i] else Lit("NULL") for i in (1, 2)]
        stats = [TensorArg(node.outputs[i]) if len(node.outputs) > i and node.outputs[i] else Lit("NULL") for i in (1, 2)]
        return [Call(ctx.kernel("layernorm"), (TensorArg(node.inputs[0]), opt[0], opt[1],
                                             TensorArg(node.outputs[0]), stats[0], stats[1], desc))]


@dataclass(frozen=True)
class BatchNormParams:
    eps: float


@register
class BatchNorm(Op):
    """Inference-form BatchNormalization. Never reaches codegen: passes.fold rewrites it to a
    per-channel Mul + Add (and usually folds that into the preceding Conv)."""

    op_types = ("BatchNormalization",)
    weight_inputs = (1, 2, 3, 4)

    @classmethod
    def parse(cls, attrs: Attrs, ins: list[Tensor | None], opset: int) -> BatchNormParams:
        if attrs.int("training_mode", 0):
            raise attrs.error("training_mode=1 is not supported (inference only)")
        if opset < 7 and attrs.has("spatial") and attrs.int("spatial") != 1:
            raise attrs.error("spatial=0 is not supported")
        return BatchNormParams(attrs.float("epsilon", 1e-5))

    @classmethod
    def infer(cls, p: BatchNormParams, ins: list[Tensor]) -> list[OutSpec]:
        return [OutSpec(ins[0].shape, ins[0].dtype)]

    @classmethod
    def reference(cls, p: BatchNormParams, xs: list[np.ndarray]) -> list[np.ndarray]:
        x, scale, bias, mean, var = xs[:5]
        shape = (1, -1) + (1,) * (x.ndim - 2)
        s = scale.astype(np.float64) / np.sqrt(var.astype(np.float64) + p.eps)
        y = (x - mean.reshape(shape)) * s.reshape(shape) + bias.reshape(shape)
        return [y.astype(x.dtype)]

    @staticmethod
    def affine(p: BatchNormParams, scale: np.ndarray, bias: np.ndarray, mean: np.ndarray,
               var: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(multiplier, offset) per channel, in float64 then rounded once to float32."""
        s = scale.astype(np.float64) / np.sqrt(var.astype(np.float64) + p.eps)
        t = bias.astype(np.float64) - mean.astype(np.float64) * s
        return s.astype(np.float32), t.astype(np.float32)


# ---------------------------------------------------------------- kernel table
SOFTMAX_SIG = Sig("mf_norm.h", "const {t} *x, {t} *y, const mf_softmax_desc *d")
LAYERNORM_SIG = Sig("mf_norm.h", "const {t} *x, const {t} *gamma, const {t} *beta, {t} *y, {t} *mean_out, "
                    "{t} *rstd_out, const mf_layernorm_desc *d")
kernels("mf_softmax", "norm_{dtype}_ref.c", sig=SOFTMAX_SIG)
kernels("mf_layernorm", "norm_{dtype}_ref.c", sig=LAYERNORM_SIG)
# FP16 SIMD (norm_f16_<isa>.c, on the vector math of the transformer kernels, vmath_<isa>.inc);
# other layouts fall back to the reference in the same call
kernels("mf_softmax", "norm_f16_{isa}.c", ("f16",), ("rvv", "mve"), ("norm_f16_ref.c", "elementwise_f16_ref.c"),
        sig=SOFTMAX_SIG)
kernels("mf_layernorm", "norm_f16_{isa}.c", ("f16",), ("rvv", "mve"), ("norm_f16_ref.c", "elementwise_f16_ref.c"),
        sig=LAYERNORM_SIG)
# FP32 on cores without float SIMD: the token chain's unrolled one-pass row (a ViT's final norm)
kernels("mf_layernorm", "norm_f32_dsp.c", ("f32",), ("dsp",), sig=LAYERNORM_SIG)


# ---------------------------------------------------------------- backward

@dataclass(frozen=True)
class LayerNormGradParams:
    norm: LayerNormParams
    x_shape: tuple[int, ...]
    want_gamma: bool = False
    want_beta: bool = False


def _ln_parts(p: LayerNormGradParams, x: np.ndarray, dy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    cols = int(np.prod(p.x_shape[p.norm.axis:]))
    v = x.reshape(-1, cols).astype(np.float64)
    mean = v.mean(axis=1, keepdims=True)
    rstd = 1 / np.sqrt(((v - mean) ** 2).mean(axis=1, keepdims=True) + p.norm.eps)
    return (v - mean) * rstd, rstd, dy.reshape(-1, cols).astype(np.float64)


@register
class LayerNormGradInput(TrainOp):
    """inputs (dy, x[, gamma]) -> dx."""

    op_types = ("LayerNormGradInput",)

    @classmethod
    def infer(cls, p: LayerNormGradParams, ins: list[Tensor]) -> list[OutSpec]:
        return [OutSpec(p.x_shape, ins[0].dtype)]

    @classmethod
    def reference(cls, p: LayerNormGradParams, xs: list[np.ndarray]) -> list[np.ndarray]:
        xhat, rstd, dy = _ln_parts(p, xs[1], xs[0])
        g = dy * (xs[2].reshape(1, -1) if len(xs) > 2 and xs[2] is not None else 1.0)
        dx = rstd * (g - g.mean(axis=1, keepdims=True) - xhat * (g * xhat).mean(axis=1, keepdims=True))
        return [dx.reshape(p.x_shape).astype(np.float32)]

    @classmethod
    def lower(cls, p: LayerNormGradParams, node: Node, ctx: LowerCtx) -> list[Call]:
        desc = forward_desc(LayerNorm, p.norm, [("_x", p.x_shape)], p.x_shape)
        return [Call(bwd_kernel(ctx, "mf_layernorm_bwd_input"), (TensorArg(node.inputs[0]), TensorArg(node.inputs[1]),
                                                       null_or(node, 2), TensorArg(node.outputs[0]), desc))]


@register
class LayerNormGradWeight(TrainOp):
    """inputs (dy, x) -> [dgamma if want_gamma] + [dbeta if want_beta] (flat, cols each)."""

    op_types = ("LayerNormGradWeight",)

    @classmethod
    def infer(cls, p: LayerNormGradParams, ins: list[Tensor]) -> list[OutSpec]:
        cols = (int(np.prod(p.x_shape[p.norm.axis:])),)
        return [OutSpec(cols, ins[0].dtype)] * (int(p.want_gamma) + int(p.want_beta))

    @classmethod
    def reference(cls, p: LayerNormGradParams, xs: list[np.ndarray]) -> list[np.ndarray]:
        xhat, _, dy = _ln_parts(p, xs[1], xs[0])
        return ([(dy * xhat).sum(axis=0).astype(np.float32)] if p.want_gamma else []) + \
               ([dy.sum(axis=0).astype(np.float32)] if p.want_beta else [])

    @classmethod
    def lower(cls, p: LayerNormGradParams, node: Node, ctx: LowerCtx) -> list[Call]:
        desc = forward_desc(LayerNorm, p.norm, [("_x", p.x_shape)], p.x_shape)
        outs = list(node.outputs)
        dg = TensorArg(outs.pop(0)) if p.want_gamma else Lit("NULL")
        db = TensorArg(outs.pop(0)) if p.want_beta else Lit("NULL")
        return [Call(bwd_kernel(ctx, "mf_layernorm_bwd_weight"), (TensorArg(node.inputs[0]), TensorArg(node.inputs[1]),
                                                        dg, db, desc))]


@dataclass(frozen=True)
class SoftmaxGradParams:
    softmax: SoftmaxParams
    shape: tuple[int, ...]


@register
class SoftmaxGradInput(TrainOp):
    """inputs (dy, y) -> dx, from the softmax's output."""

    op_types = ("SoftmaxGradInput",)
    inplace = True

    @classmethod
    def infer(cls, p: SoftmaxGradParams, ins: list[Tensor]) -> list[OutSpec]:
        return [OutSpec(p.shape, ins[0].dtype)]

    @classmethod
    def reference(cls, p: SoftmaxGradParams, xs: list[np.ndarray]) -> list[np.ndarray]:
        o, a, i = softmax_dims(p.softmax, p.shape)
        dy, y = (v.astype(np.float64).reshape(o, a, i) for v in xs[:2])
        if p.softmax.log:
            dx = dy - np.exp(y) * dy.sum(axis=1, keepdims=True)
        else:
            dx = y * (dy - (dy * y).sum(axis=1, keepdims=True))
        return [dx.reshape(p.shape).astype(np.float32)]

    @classmethod
    def lower(cls, p: SoftmaxGradParams, node: Node, ctx: LowerCtx) -> list[Call]:
        desc = forward_desc(Softmax, p.softmax, [("_x", p.shape)], p.shape)
        return [Call(bwd_kernel(ctx, "mf_softmax_bwd_input"), (TensorArg(node.inputs[0]), TensorArg(node.inputs[1]),
                                                     TensorArg(node.outputs[0]), desc))]


@backward_rule('LayerNormalization')
def _layernorm_backward(b: Builder, n: Node, gy: str, need: set[str], train: set[str], wgrads: dict[str, str]) -> None:
    x = n.inputs[0]
    gamma = n.inputs[1] if len(n.inputs) > 1 else ""
    beta = n.inputs[2] if len(n.inputs) > 2 else ""
    if gamma in need or beta in need:
        raise unsupported(n, "runtime (computed) scale or bias")
    p = LayerNormGradParams(n.params, b.shape(x), gamma in train, beta in train)
    if p.want_gamma or p.want_beta:
        shapes = ([b.shape(gamma)] if p.want_gamma else []) + ([b.shape(beta)] if p.want_beta else [])
        outs = b.add("LayerNormGradWeight", [gy, x], shapes, p, n.origin, gamma or beta)
        if p.want_gamma:
            wgrads[gamma] = outs.pop(0)
        if p.want_beta:
            wgrads[beta] = outs.pop(0)
    if x in need:
        ins = [gy, x] + ([gamma] if gamma else [])
        b.accumulate(x, b.add("LayerNormGradInput", ins, [p.x_shape], p, n.origin, x)[0])


@backward_rule('Softmax', 'LogSoftmax')
def _softmax_backward(b: Builder, n: Node, gy: str, need: set[str], train: set[str], wgrads: dict[str, str]) -> None:
    x = n.inputs[0]
    if x in need:
        p = SoftmaxGradParams(n.params, b.shape(x))
        b.accumulate(x, b.add("SoftmaxGradInput", [gy, n.outputs[0]], [p.shape], p, n.origin, x)[0])


_H = "mf_norm.h"
kernels("mf_layernorm_bwd_input", "norm_bwd_{dtype}_ref.c",
        sig=Sig(_H, "const {t} *dy, const {t} *x, const {t} *gamma, {t} *dx, const mf_layernorm_desc *d"))
kernels("mf_layernorm_bwd_weight", "norm_bwd_{dtype}_ref.c",
        sig=Sig(_H, "const {t} *dy, const {t} *x, {t} *dgamma, {t} *dbeta, const mf_layernorm_desc *d"))
kernels("mf_softmax_bwd_input", "norm_bwd_{dtype}_ref.c", sig=Sig(_H, "const {t} *dy, const {t} *y, {t} *dx, const mf_softmax_desc *d"))
