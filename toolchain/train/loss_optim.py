"""Loss and optimizer-update op families (training-only IR ops).

Losses produce the scalar loss and the gradient of their input in one kernel. Optimizer
updates have no outputs: they write the weight and its state in place (`mutates` names
those inputs), which is legal because weights and optimizer state are pinned buffers that
live for the whole program.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from toolchain.ir.graph import DType, Node, Tensor
from toolchain.ops.base import Call, LowerCtx, Lit, OutSpec, TensorArg, lit, register, struct
from toolchain.ops.grad import TrainOp, bwd_kernel
from toolchain.ops.kernel_table import Sig, helper, kernels

STEP_COUNTER = "mf_train_t"  # the generated C's step counter (Adam's bias correction)
# The generated C's dynamic loss scale (mf_loss_scale, mf_train.h): mixed-precision builds only.
LOSS_SCALE = "&mf_train_scale"


def _mixed(ctx: LowerCtx, name: str) -> bool:
    """FP16 activations/gradients: the loss scales its gradient, updates unscale into FP32."""
    return ctx.tensors[name].dtype == DType.FLOAT16


@dataclass(frozen=True)
class LossParams:
    kind: str  # "cross_entropy" | "mse"
    rows: int
    cols: int


def loss_reference(p: LossParams, y: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    v = y.reshape(p.rows, p.cols).astype(np.float64)
    if p.kind == "cross_entropy":
        lab = t.reshape(-1).astype(np.int64)
        z = v - v.max(axis=1, keepdims=True)
        lse = np.log(np.exp(z).sum(axis=1))
        loss = float(np.mean(lse - z[np.arange(p.rows), lab]))
        g = np.exp(z - lse[:, None])
        g[np.arange(p.rows), lab] -= 1
        g /= p.rows
    else:
        e = v - t.reshape(p.rows, p.cols).astype(np.float64)
        loss = float(np.mean(e * e))
        g = 2 * e / e.size
    return np.array([loss], np.float32), g.reshape(y.shape).astype(np.float32)


@register
class Loss(TrainOp):
    """inputs (prediction, labels-as-float | target) -> (loss[1], d prediction)."""

    op_types = ("TrainLoss",)

    @classmethod
    def infer(cls, p: LossParams, ins: list[Tensor]) -> list[OutSpec]:
        return [OutSpec((1,), ins[0].dtype), OutSpec(ins[0].shape, ins[0].dtype)]

    @classmethod
    def reference(cls, p: LossParams, xs: list[np.ndarray]) -> list[np.ndarray]:
        return list(loss_reference(p, xs[0], xs[1]))

    @classmethod
    def lower(cls, p: LossParams, node: Node, ctx: LowerCtx) -> list[Call]:
        desc = struct("mf_loss_desc", rows=lit(p.rows), cols=lit(p.cols))
        k = bwd_kernel(ctx, "mf_softmax_xent" if p.kind == "cross_entropy" else "mf_mse_loss")
        args = (TensorArg(node.inputs[0]), TensorArg(node.inputs[1]), TensorArg(node.outputs[0]),
                TensorArg(node.outputs[1]), desc)
        return [Call(k, args + ((Lit(LOSS_SCALE),) if _mixed(ctx, node.inputs[0]) else ()))]


@dataclass(frozen=True)
class SgdParams:
    lr: float
    momentum: float = 0.0
    weight_decay: float = 0.0


@dataclass(frozen=True)
class AdamParams:
    lr: float
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    weight_decay: float = 0.0


class UpdateOp(TrainOp):
    """An in-place update: `update` returns the new values of the inputs in `mutates`.

    Mixed precision (toolchain.train.mixed) appends the weight's FP16 working copy as the last
    input: the update runs in FP32 on the master weight and refreshes the copy."""

    mutates: ClassVar[tuple[int, ...]] = ()

    @classmethod
    def written(cls, node: Node, ctx_tensors: dict[str, Tensor]) -> list[str]:
        """The inputs this node writes: its mutated ones, and the FP16 copy when mixed."""
        out = [node.inputs[k] for k in cls.mutates if k < len(node.inputs)]
        last = node.inputs[-1]
        if ctx_tensors[node.inputs[1]].dtype == DType.FLOAT16 and ctx_tensors[last].dtype == DType.FLOAT16:
            out.append(last)
        return out

    @classmethod
    def infer(cls, p: object, ins: list[Tensor]) -> list[OutSpec]:
        return []

    @classmethod
    def update(cls, p: object, xs: list[np.ndarray], step: int) -> list[np.ndarray]:
        raise NotImplementedError


@register
class SgdUpdate(UpdateOp):
    """inputs (w, g[, momentum buffer]); writes w (and the buffer)."""

    op_types = ("SgdUpdate",)
    mutates = (0, 2)

    @classmethod
    def update(cls, p: SgdParams, xs: list[np.ndarray], step: int) -> list[np.ndarray]:
        w, g = xs[0].astype(np.float32), xs[1].astype(np.float32)
        g = g + np.float32(p.weight_decay) * w
        if p.momentum:
            buf = np.float32(p.momentum) * xs[2] + g
            return [w - np.float32(p.lr) * buf, buf]
        return [w - np.float32(p.lr) * g]

    @classmethod
    def lower(cls, p: SgdParams, node: Node, ctx: LowerCtx) -> list[Call]:
        n = int(np.prod(ctx.shape(node.inputs[0]), dtype=np.int64))
        mixed = _mixed(ctx, node.inputs[1])
        ins = node.inputs[:-1] if mixed else node.inputs
        buf = TensorArg(ins[2]) if len(ins) > 2 else Lit("NULL")
        desc = struct("mf_sgd_desc", lr=lit(p.lr), momentum=lit(p.momentum), weight_decay=lit(p.weight_decay))
        k = bwd_kernel(ctx, "mf_sgd_update")
        if mixed:
            return [Call(k, (TensorArg(ins[0]), TensorArg(ins[1]), buf, TensorArg(node.inputs[-1]), lit(n), desc,
                             Lit(LOSS_SCALE)))]
        return [Call(k, (TensorArg(ins[0]), TensorArg(ins[1]), buf, lit(n), desc))]


@register
class AdamUpdate(UpdateOp):
    """inputs (w, g, m, v); writes w, m and v."""

    op_types = ("AdamUpdate",)
    mutates = (0, 2, 3)

    @classmethod
    def update(cls, p: AdamParams, xs: list[np.ndarray], step: int) -> list[np.ndarray]:
        w, g, m, v = (x.astype(np.float64) for x in xs)
        g = g + p.weight_decay * w
        m = p.beta1 * m + (1 - p.beta1) * g
        v = p.beta2 * v + (1 - p.beta2) * g * g
        denom = np.sqrt(v) / np.sqrt(1 - p.beta2**step) + p.eps
        w = w - p.lr / (1 - p.beta1**step) * m / denom
        return [a.astype(np.float32) for a in (w, m, v)]

    @classmethod
    def lower(cls, p: AdamParams, node: Node, ctx: LowerCtx) -> list[Call]:
        n = int(np.prod(ctx.shape(node.inputs[0]), dtype=np.int64))
        desc = struct("mf_adam_desc", lr=lit(p.lr), beta1=lit(p.beta1), beta2=lit(p.beta2), eps=lit(p.eps),
                      weight_decay=lit(p.weight_decay))
        k = bwd_kernel(ctx, "mf_adam_update")
        if _mixed(ctx, node.inputs[1]):
            return [Call(k, (*(TensorArg(i) for i in node.inputs[:4]), TensorArg(node.inputs[4]), lit(n), desc,
                             Lit(STEP_COUNTER), Lit(LOSS_SCALE)))]
        return [Call(k, (*(TensorArg(i) for i in node.inputs[:4]), lit(n), desc, Lit(STEP_COUNTER)))]


# ---------------------------------------------------------------- kernel table
# Declared in mf_train.h. FP16 training keeps FP32 master weights and the loss in FP32: its
# loss and optimizer kernels take the FP16 tensors and the loss scale.
_H = "mf_train.h"
_SIGS = {
    "mf_softmax_xent": {
        "f32": Sig(_H, "const float *logits, const float *labels, float *loss, float *dlogits, const mf_loss_desc *d"),
        "f16": Sig(_H, "const {t} *logits, const float *labels, float *loss, {t} *dlogits, const mf_loss_desc *d, "
                   "const mf_loss_scale *ls")},
    "mf_mse_loss": {
        "f32": Sig(_H, "const float *y, const float *target, float *loss, float *dy, const mf_loss_desc *d"),
        "f16": Sig(_H, "const {t} *y, const float *target, float *loss, {t} *dy, const mf_loss_desc *d, "
                   "const mf_loss_scale *ls")},
    "mf_sgd_update": {
        "f32": Sig(_H, "float *w, const float *g, float *buf, int32_t n, const mf_sgd_desc *d"),
        "f16": Sig(_H, "float *w, const {t} *g, float *buf, {t} *w_half, int32_t n, const mf_sgd_desc *d, mf_loss_scale *ls")},
    "mf_adam_update": {
        "f32": Sig(_H, "float *w, const float *g, float *m, float *v, int32_t n, const mf_adam_desc *d, int32_t step"),
        "f16": Sig(_H, "float *w, const {t} *g, float *m, float *v, {t} *w_half, int32_t n, const mf_adam_desc *d, "
                   "int32_t step, mf_loss_scale *ls")},
}
for _base, _src in (("mf_softmax_xent", "loss_bwd_{dtype}_ref.c"), ("mf_mse_loss", "loss_bwd_{dtype}_ref.c"),
                    ("mf_sgd_update", "optim_bwd_{dtype}_ref.c"), ("mf_adam_update", "optim_bwd_{dtype}_ref.c")):
    kernels(_base, _src, sig=_SIGS[_base])
# the mixed-precision step's loss scale
helper("mf_loss_scale_update", "optim_bwd_f16_ref.c", sig=Sig(_H, "mf_loss_scale *ls"))
