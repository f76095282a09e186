"""Backward op families: typed params, numpy backward reference, lowering to the _bwd_ kernels.

They are IR ops like the forward ones (registered in the same REGISTRY), so a training step
is an ordinary Graph that the existing memory planner, checker and codegen handle. Each
descriptor that the forward already defines (conv, pool, layernorm, softmax) is taken from the
forward op's own lowering, so the two can never disagree on a shape.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from toolchain.ir.graph import Node, Tensor
from toolchain.ops.base import (
    Call, LowerCtx, Lit, Op, OutSpec, Scratch, Struct, TensorArg, int_array, lit, register, struct,
)
from toolchain.ops.conv import Conv, ConvParams
from toolchain.ops.elementwise import ACTIVATIONS, Act
from toolchain.ops.gemm import MAX_BATCH_RANK
from toolchain.ops.norm import LayerNorm, LayerNormParams, Softmax, SoftmaxParams, softmax_dims
from toolchain.ops.pool import Pool, PoolParams
from toolchain.train.opbase import TrainOp
from toolchain.train.kernels import bwd_cols, isa_of, kernel


def _null_or(node: Node, i: int) -> TensorArg | Lit:
    return TensorArg(node.inputs[i]) if len(node.inputs) > i and node.inputs[i] else Lit("NULL")


def _forward_desc(op: type[Op], params: object, ins: list[tuple[str, tuple[int, ...]]],
                  out_shape: tuple[int, ...]) -> Struct:
    """The descriptor struct the forward op lowers to, for these shapes (its last argument)."""
    from toolchain.ir.graph import DType

    tensors = {n: Tensor(n, s, DType.FLOAT32) for n, s in ins}
    tensors["_y"] = Tensor("_y", out_shape, DType.FLOAT32)
    node = Node("_fwd", "", [n for n, _ in ins], ["_y"], params)
    desc = op.lower(params, node, LowerCtx(tensors))[0].args[-1]
    assert isinstance(desc, Struct)
    return desc


# ---------------------------------------------------------------- activations

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
        return [Call(kernel(ctx, "act", "bwd_input"), (TensorArg(node.inputs[0]), TensorArg(node.inputs[1]),
                                                 TensorArg(node.outputs[0]), lit(n), p.act.struct(),
                                                 lit(p.from_output)))]


# ---------------------------------------------------------------- convolution


@dataclass(frozen=True)
class ConvGradParams:
    conv: ConvParams  # act NONE: the activation's gradient is a separate ActGrad node
    x_shape: tuple[int, ...]
    w_shape: tuple[int, ...]
    y_shape: tuple[int, ...]
    want_w: bool = True
    want_b: bool = False

    def desc(self) -> Struct:
        return _forward_desc(Conv, replace(self.conv, act=Act()), [("_x", self.x_shape), ("_w", self.w_shape)],
                             self.y_shape)

    def scratch_bytes(self, elem_bytes: int, cols: int) -> int:
        """Twin of mf_conv2d_bwd_scratch_bytes (conv_bwd_f32_ref.c): the im2col panel of the
        SIMD kernels, K x cols elements; none for depthwise (direct loops)."""
        c_in, c_out, g = self.x_shape[1], self.w_shape[0], self.conv.group
        if g > 1 and g == c_in == c_out:
            return 0
        return c_in // g * int(np.prod(self.w_shape[2:])) * cols * elem_bytes

    def call(self, name: str, args: tuple, ctx: LowerCtx, elem_of: str) -> Call:
        """The kernel call; SIMD variants take the im2col scratch."""
        isa = isa_of(name)
        if isa == "ref":
            return Call(name, args)
        return Call(name, args + (Scratch(),), self.scratch_bytes(ctx.tensors[elem_of].dtype.itemsize, bwd_cols(isa)))


def _as_2d(p: ConvParams, *arrays: np.ndarray) -> list[np.ndarray]:
    return [a[:, :, None, :] if p.win.spatial_rank == 1 else a for a in arrays]


def _taps(p: ConvParams, oh: int, ow: int):
    (kh, kw), (sh, sw), (dh, dw) = p.win.kernel, p.win.strides, p.win.dilations
    for i in range(kh):
        for j in range(kw):
            yield i, j, (slice(i * dh, i * dh + sh * (oh - 1) + 1, sh), slice(j * dw, j * dw + sw * (ow - 1) + 1, sw))


def conv_bwd_input(dy: np.ndarray, w: np.ndarray, p: ConvGradParams) -> np.ndarray:
    dy4, w4 = _as_2d(p.conv, dy.astype(np.float64), w.astype(np.float64))
    n, c = p.x_shape[:2]
    h, wd = (1, p.x_shape[2]) if p.conv.win.spatial_rank == 1 else p.x_shape[2:]
    pt, pl, pb, pr = p.conv.win.pads
    dxp = np.zeros((n, c, h + pt + pb, wd + pl + pr))
    oh, ow = dy4.shape[2:]
    cig, cog = w4.shape[1], w4.shape[0] // p.conv.group
    for g in range(p.conv.group):
        for i, j, (rs, cs) in _taps(p.conv, oh, ow):
            dxp[:, g * cig:(g + 1) * cig, rs, cs] += np.einsum(
                "nohw,oc->nchw", dy4[:, g * cog:(g + 1) * cog], w4[g * cog:(g + 1) * cog, :, i, j])
    dx = dxp[:, :, pt:pt + h, pl:pl + wd]
    return (dx[:, :, 0, :] if p.conv.win.spatial_rank == 1 else dx).astype(np.float32)


def conv_bwd_weight(x: np.ndarray, dy: np.ndarray, p: ConvGradParams) -> tuple[np.ndarray, np.ndarray]:
    x4, dy4 = _as_2d(p.conv, x.astype(np.float64), dy.astype(np.float64))
    pt, pl, pb, pr = p.conv.win.pads
    xp = np.pad(x4, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    w_shape4 = p.w_shape if p.conv.win.spatial_rank == 2 else (p.w_shape[0], p.w_shape[1], 1, p.w_shape[2])
    dw = np.zeros(w_shape4)
    oh, ow = dy4.shape[2:]
    cig, cog = w_shape4[1], w_shape4[0] // p.conv.group
    for g in range(p.conv.group):
        for i, j, (rs, cs) in _taps(p.conv, oh, ow):
            dw[g * cog:(g + 1) * cog, :, i, j] = np.einsum(
                "nohw,nchw->oc", dy4[:, g * cog:(g + 1) * cog], xp[:, g * cig:(g + 1) * cig, rs, cs])
    return dw.reshape(p.w_shape).astype(np.float32), dy4.sum(axis=(0, 2, 3)).astype(np.float32)


@register
class ConvGradInput(TrainOp):
    """inputs (dy, w) -> dx."""

    op_types = ("ConvGradInput",)

    @classmethod
    def infer(cls, p: ConvGradParams, ins: list[Tensor]) -> list[OutSpec]:
        return [OutSpec(p.x_shape, ins[0].dtype)]

    @classmethod
    def reference(cls, p: ConvGradParams, xs: list[np.ndarray]) -> list[np.ndarray]:
        return [conv_bwd_input(xs[0], xs[1], p)]

    @classmethod
    def macs(cls, p: ConvGradParams, ins: list[Tensor], outs: list[Tensor]) -> int:
        return ins[0].size * int(np.prod(p.w_shape[1:]))

    @classmethod
    def lower(cls, p: ConvGradParams, node: Node, ctx: LowerCtx) -> list[Call]:
        args = (TensorArg(node.inputs[0]), TensorArg(node.inputs[1]), TensorArg(node.outputs[0]), p.desc())
        return [p.call(kernel(ctx, "conv", "bwd_input"), args, ctx, node.inputs[0])]


@register
class ConvGradWeight(TrainOp):
    """inputs (x, dy) -> [dw if want_w] + [db if want_b]."""

    op_types = ("ConvGradWeight",)

    @classmethod
    def infer(cls, p: ConvGradParams, ins: list[Tensor]) -> list[OutSpec]:
        return ([OutSpec(p.w_shape, ins[0].dtype)] if p.want_w else []) + \
               ([OutSpec((p.w_shape[0],), ins[0].dtype)] if p.want_b else [])

    @classmethod
    def reference(cls, p: ConvGradParams, xs: list[np.ndarray]) -> list[np.ndarray]:
        dw, db = conv_bwd_weight(xs[0], xs[1], p)
        return ([dw] if p.want_w else []) + ([db] if p.want_b else [])

    @classmethod
    def macs(cls, p: ConvGradParams, ins: list[Tensor], outs: list[Tensor]) -> int:
        return ins[1].size * int(np.prod(p.w_shape[1:])) if p.want_w else 0

    @classmethod
    def lower(cls, p: ConvGradParams, node: Node, ctx: LowerCtx) -> list[Call]:
        outs = list(node.outputs)
        dw = TensorArg(outs.pop(0)) if p.want_w else Lit("NULL")
        db = TensorArg(outs.pop(0)) if p.want_b else Lit("NULL")
        args = (TensorArg(node.inputs[0]), TensorArg(node.inputs[1]), dw, db, p.desc())
        return [p.call(kernel(ctx, "conv", "bwd_weight"), args, ctx, node.inputs[0])]


# ---------------------------------------------------------------- matrix multiply


@dataclass(frozen=True)
class GemmGradInputParams:
    """o[b][i*o_rs + k*o_cs] = alpha * sum_j dy[b][i*dy_rs + j*dy_cs] * w[b][k*w_rs + j*w_cs]."""

    batch_shape: tuple[int, ...]
    dy_bstride: tuple[int, ...]
    w_bstride: tuple[int, ...]
    o_bstride: tuple[int, ...]
    m: int
    n: int
    k: int
    dy_rs: int
    dy_cs: int
    w_rs: int
    w_cs: int
    o_rs: int
    o_cs: int
    alpha: float
    out_shape: tuple[int, ...]


def _batch_offsets(shape: tuple[int, ...], *strides: tuple[int, ...]):
    for idx in np.ndindex(*shape) if shape else [()]:
        yield tuple(sum(i * s for i, s in zip(idx, st)) for st in strides)


@register
class GemmGradInput(TrainOp):
    """inputs (dy, other operand) -> gradient of one matmul operand (see the params)."""

    op_types = ("GemmGradInput",)

    @classmethod
    def infer(cls, p: GemmGradInputParams, ins: list[Tensor]) -> list[OutSpec]:
        return [OutSpec(p.out_shape, ins[0].dtype)]

    @classmethod
    def reference(cls, p: GemmGradInputParams, xs: list[np.ndarray]) -> list[np.ndarray]:
        dy, w = xs[0].reshape(-1).astype(np.float64), xs[1].reshape(-1).astype(np.float64)
        out = np.zeros(int(np.prod(p.out_shape)))
        i, j, k = np.arange(p.m), np.arange(p.n), np.arange(p.k)
        for od, ow, oo in _batch_offsets(p.batch_shape, p.dy_bstride, p.w_bstride, p.o_bstride):
            dm = dy[od + np.add.outer(i * p.dy_rs, j * p.dy_cs)]
            wm = w[ow + np.add.outer(k * p.w_rs, j * p.w_cs)]
            out[oo + np.add.outer(i * p.o_rs, k * p.o_cs)] = p.alpha * (dm @ wm.T)
        return [out.reshape(p.out_shape).astype(np.float32)]

    @classmethod
    def macs(cls, p: GemmGradInputParams, ins: list[Tensor], outs: list[Tensor]) -> int:
        return int(np.prod(p.batch_shape, dtype=np.int64)) * p.m * p.n * p.k

    @classmethod
    def lower(cls, p: GemmGradInputParams, node: Node, ctx: LowerCtx) -> list[Call]:
        r = MAX_BATCH_RANK
        desc = struct("mf_gemm_bwd_input_desc", batch_rank=lit(len(p.batch_shape)),
                      batch_shape=int_array(p.batch_shape, r), dy_bstride=int_array(p.dy_bstride, r),
                      w_bstride=int_array(p.w_bstride, r), o_bstride=int_array(p.o_bstride, r),
                      m=lit(p.m), n=lit(p.n), k=lit(p.k), dy_rs=lit(p.dy_rs), dy_cs=lit(p.dy_cs),
                      w_rs=lit(p.w_rs), w_cs=lit(p.w_cs), o_rs=lit(p.o_rs), o_cs=lit(p.o_cs), alpha=lit(p.alpha))
        return [Call(kernel(ctx, "gemm", "bwd_input"), (TensorArg(node.inputs[0]), TensorArg(node.inputs[1]),
                                                  TensorArg(node.outputs[0]), desc))]


@dataclass(frozen=True)
class GemmGradWeightParams:
    """dw[k*w_ks + j*w_ns] = alpha * sum_r A[r][k] dy[r][j]; dc[(r % m)*c_rs + j*c_cs] += beta dy[r][j]."""

    rows: int
    m: int
    n: int
    k: int
    a_rs: int
    a_cs: int
    w_ks: int
    w_ns: int
    w_shape: tuple[int, ...]
    c_shape: tuple[int, ...]
    c_rs: int
    c_cs: int
    alpha: float
    beta: float
    want_w: bool = True
    want_c: bool = False


@register
class GemmGradWeight(TrainOp):
    """inputs (a, dy) -> [dw if want_w] + [dc if want_c]."""

    op_types = ("GemmGradWeight",)

    @classmethod
    def infer(cls, p: GemmGradWeightParams, ins: list[Tensor]) -> list[OutSpec]:
        return ([OutSpec(p.w_shape, ins[0].dtype)] if p.want_w else []) + \
               ([OutSpec(p.c_shape, ins[0].dtype)] if p.want_c else [])

    @classmethod
    def reference(cls, p: GemmGradWeightParams, xs: list[np.ndarray]) -> list[np.ndarray]:
        a, dy = xs[0].reshape(-1).astype(np.float64), xs[1].reshape(p.rows, p.n).astype(np.float64)
        am = a[np.add.outer(np.arange(p.rows) * p.a_rs, np.arange(p.k) * p.a_cs)]
        outs = []
        if p.want_w:
            dw = np.zeros(int(np.prod(p.w_shape)))
            dw[np.add.outer(np.arange(p.k) * p.w_ks, np.arange(p.n) * p.w_ns)] = p.alpha * (am.T @ dy)
            outs.append(dw.reshape(p.w_shape).astype(np.float32))
        if p.want_c:
            dc = np.zeros(int(np.prod(p.c_shape, dtype=np.int64)))
            idx = np.add.outer((np.arange(p.rows) % p.m) * p.c_rs, np.arange(p.n) * p.c_cs)
            np.add.at(dc, idx, p.beta * dy)
            outs.append(dc.reshape(p.c_shape).astype(np.float32))
        return outs

    @classmethod
    def macs(cls, p: GemmGradWeightParams, ins: list[Tensor], outs: list[Tensor]) -> int:
        return p.rows * p.n * p.k if p.want_w else 0

    @classmethod
    def lower(cls, p: GemmGradWeightParams, node: Node, ctx: LowerCtx) -> list[Call]:
        outs = list(node.outputs)
        dw = TensorArg(outs.pop(0)) if p.want_w else Lit("NULL")
        dc = TensorArg(outs.pop(0)) if p.want_c else Lit("NULL")
        desc = struct("mf_gemm_bwd_weight_desc", rows=lit(p.rows), m=lit(p.m), n=lit(p.n), k=lit(p.k),
                      a_rs=lit(p.a_rs), a_cs=lit(p.a_cs), w_ks=lit(p.w_ks), w_ns=lit(p.w_ns),
                      c_size=lit(max(int(np.prod(p.c_shape, dtype=np.int64)), 1)), c_rs=lit(p.c_rs),
                      c_cs=lit(p.c_cs), alpha=lit(p.alpha), beta=lit(p.beta))
        return [Call(kernel(ctx, "gemm", "bwd_weight"), (TensorArg(node.inputs[0]), TensorArg(node.inputs[1]),
                                                   dw, dc, desc))]


# ---------------------------------------------------------------- pooling


@dataclass(frozen=True)
class PoolGradParams:
    pool: PoolParams
    x_shape: tuple[int, ...]
    y_shape: tuple[int, ...]


def pool_bwd(dy: np.ndarray, x: np.ndarray | None, p: PoolGradParams) -> np.ndarray:
    xs4 = p.x_shape if len(p.x_shape) == 4 else (p.x_shape[0], p.x_shape[1], 1, p.x_shape[2])
    n, c, h, w = xs4
    dy4 = dy.reshape(n, c, -1, dy.shape[-1]).astype(np.float64)
    x4 = x.reshape(xs4) if x is not None else None
    win = p.pool.resolve(p.x_shape)
    oh, ow = dy4.shape[2:]
    (kh, kw), (sh, sw), (dh, dw) = win.kernel, win.strides, win.dilations
    pt, pl, pb, pr = win.pads
    dx = np.zeros(xs4)
    for i in range(oh):
        for j in range(ow):
            rows = [i * sh - pt + a * dh for a in range(kh)]
            cols = [j * sw - pl + b * dw for b in range(kw)]
            vr = [r for r in rows if 0 <= r < h]
            vc = [q for q in cols if 0 <= q < w]
            if p.pool.is_max:
                win_x = x4[:, :, vr][:, :, :, vc].reshape(n, c, -1)
                arg = win_x.argmax(axis=2)  # first maximum, as the kernel
                for a in range(n):
                    for b in range(c):
                        r, q = divmod(int(arg[a, b]), len(vc))
                        dx[a, b, vr[r], vc[q]] += dy4[a, b, i, j]
            else:
                if p.pool.count_include_pad:
                    cnt = len([r for r in rows if -pt <= r < h + pb]) * len([q for q in cols if -pl <= q < w + pr])
                else:
                    cnt = len(vr) * len(vc)
                if cnt:
                    dx[:, :, vr[0]:vr[-1] + 1:dh, vc[0]:vc[-1] + 1:dw] += dy4[:, :, i:i + 1, j:j + 1] / cnt
    return dx.reshape(p.x_shape).astype(np.float32)


@register
class PoolGradInput(TrainOp):
    """inputs (dy[, x for max pooling]) -> dx."""

    op_types = ("PoolGradInput",)

    @classmethod
    def infer(cls, p: PoolGradParams, ins: list[Tensor]) -> list[OutSpec]:
        return [OutSpec(p.x_shape, ins[0].dtype)]

    @classmethod
    def reference(cls, p: PoolGradParams, xs: list[np.ndarray]) -> list[np.ndarray]:
        return [pool_bwd(xs[0], xs[1] if p.pool.is_max else None, p)]

    @classmethod
    def lower(cls, p: PoolGradParams, node: Node, ctx: LowerCtx) -> list[Call]:
        desc = _forward_desc(Pool, p.pool, [("_x", p.x_shape)], p.y_shape)
        if p.pool.is_max:
            return [Call(kernel(ctx, "maxpool", "bwd_input"), (TensorArg(node.inputs[0]), TensorArg(node.inputs[1]),
                                                         TensorArg(node.outputs[0]), desc))]
        return [Call(kernel(ctx, "avgpool", "bwd_input"), (TensorArg(node.inputs[0]), TensorArg(node.outputs[0]), desc))]


# ---------------------------------------------------------------- layer norm, softmax


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
        desc = _forward_desc(LayerNorm, p.norm, [("_x", p.x_shape)], p.x_shape)
        return [Call(kernel(ctx, "layernorm", "bwd_input"), (TensorArg(node.inputs[0]), TensorArg(node.inputs[1]),
                                                       _null_or(node, 2), TensorArg(node.outputs[0]), desc))]


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
        desc = _forward_desc(LayerNorm, p.norm, [("_x", p.x_shape)], p.x_shape)
        outs = list(node.outputs)
        dg = TensorArg(outs.pop(0)) if p.want_gamma else Lit("NULL")
        db = TensorArg(outs.pop(0)) if p.want_beta else Lit("NULL")
        return [Call(kernel(ctx, "layernorm", "bwd_weight"), (TensorArg(node.inputs[0]), TensorArg(node.inputs[1]),
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
        desc = _forward_desc(Softmax, p.softmax, [("_x", p.shape)], p.shape)
        return [Call(kernel(ctx, "softmax", "bwd_input"), (TensorArg(node.inputs[0]), TensorArg(node.inputs[1]),
                                                     TensorArg(node.outputs[0]), desc))]
