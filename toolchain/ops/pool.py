"""MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool (1-D and 2-D, NCHW)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from toolchain.errors import UnsupportedOpError
from toolchain.ir.graph import Node, Tensor
from toolchain.ops.base import Attrs, Call, LowerCtx, Op, OutSpec, TensorArg, lit, register, struct
from toolchain.ops.conv import Window, hw, out_shape, parse_window
from toolchain.ops.grad import Builder, TrainOp, backward_rule, bwd_kernel, forward_desc
from toolchain.ops.kernel_table import Sig, kernels


@dataclass(frozen=True)
class PoolParams:
    win: Window
    is_max: bool
    ceil_mode: bool = False
    count_include_pad: bool = False
    global_pool: bool = False

    def resolve(self, x_shape: tuple[int, ...]) -> Window:
        if not self.global_pool:
            return self.win
        h, w = hw(x_shape)
        return Window((h, w), (1, 1), (1, 1), (0, 0, 0, 0), len(x_shape) - 2)


@register
class Pool(Op):
    op_types = ("MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool")

    @classmethod
    def parse(cls, attrs: Attrs, ins: list[Tensor | None], opset: int) -> PoolParams:
        t = attrs.op_type
        x = ins[0]
        if t.startswith("Global"):
            if len(x.shape) not in (3, 4):
                raise attrs.error(f"rank-{len(x.shape)} input is not supported")
            return PoolParams(Window((1, 1), (1, 1), (1, 1), (0, 0, 0, 0), len(x.shape) - 2),
                              t == "GlobalMaxPool", global_pool=True)
        if t == "MaxPool" and attrs.int("storage_order", 0) != 0:
            raise attrs.error("storage_order=1 is not supported")
        win = parse_window(attrs, x.shape, None)
        return PoolParams(win, t == "MaxPool", bool(attrs.int("ceil_mode", 0)),
                          bool(attrs.int("count_include_pad", 0)))

    @classmethod
    def infer(cls, p: PoolParams, ins: list[Tensor]) -> list[OutSpec]:
        x = ins[0]
        win = p.resolve(x.shape)
        oh, ow = win.out_size(*hw(x.shape), ceil_mode=p.ceil_mode)
        return [OutSpec(out_shape(x.shape[0], x.shape[1], win, oh, ow), x.dtype)]

    @classmethod
    def reference(cls, p: PoolParams, xs: list[np.ndarray]) -> list[np.ndarray]:
        x = xs[0]
        x4 = x[:, :, None, :] if x.ndim == 3 else x
        win = p.resolve(x.shape)
        n, c, h, w = x4.shape
        oh, ow = win.out_size(h, w, ceil_mode=p.ceil_mode)
        y = np.zeros((n, c, oh, ow), dtype=np.float64)
        (kh, kw), (sh, sw), (dh, dw) = win.kernel, win.strides, win.dilations
        pt, pl, pb, pr = win.pads
        for i in range(oh):
            for j in range(ow):
                rows = [i * sh - pt + a * dh for a in range(kh)]
                cols = [j * sw - pl + b * dw for b in range(kw)]
                vr = [r for r in rows if 0 <= r < h]
                vc = [q for q in cols if 0 <= q < w]
                win_x = x4[:, :, vr][:, :, :, vc].astype(np.float64)
                if p.is_max:
                    y[:, :, i, j] = win_x.max(axis=(2, 3))
                else:
                    if p.count_include_pad:
                        cnt = len([r for r in rows if -pt <= r < h + pb]) * len([q for q in cols if -pl <= q < w + pr])
                    else:
                        cnt = len(vr) * len(vc)
                    y[:, :, i, j] = win_x.sum(axis=(2, 3)) / cnt
        y = y.astype(x.dtype)
        return [y[:, :, 0, :] if x.ndim == 3 else y]

    @classmethod
    def torch_ref(cls, p: PoolParams, xs: list, torch: Any) -> list:
        x, F = xs[0], torch.nn.functional
        win = p.resolve(tuple(x.shape))
        x4 = x.unsqueeze(2) if x.dim() == 3 else x
        pt, pl, pb, pr = win.pads
        if p.is_max:
            x4 = F.pad(x4, (pl, pr, pt, pb), value=-math.inf)
            y = F.max_pool2d(x4, win.kernel, win.strides, 0, win.dilations, ceil_mode=p.ceil_mode)
        else:
            if win.dilations != (1, 1) or (pt, pl) != (pb, pr) or p.ceil_mode:
                raise UnsupportedOpError("the torch reference has no dilated/asymmetric/ceil average pool")
            y = F.avg_pool2d(x4, win.kernel, win.strides, (pt, pl), count_include_pad=p.count_include_pad)
        return [y.squeeze(2) if x.dim() == 3 else y]

    @classmethod
    def macs(cls, p: PoolParams, ins: list[Tensor], outs: list[Tensor]) -> int:
        k = p.resolve(ins[0].shape).kernel
        return 0 if p.is_max else outs[0].size * k[0] * k[1]

    @classmethod
    def lower(cls, p: PoolParams, node: Node, ctx: LowerCtx) -> list[Call]:
        xs = ctx.shape(node.inputs[0])
        win = p.resolve(xs)
        h, w = hw(xs)
        oh, ow = win.out_size(h, w, ceil_mode=p.ceil_mode)
        desc = struct(
            "mf_pool2d_desc", nc=lit(xs[0] * xs[1]), h_in=lit(h), w_in=lit(w), h_out=lit(oh), w_out=lit(ow),
            k_h=lit(win.kernel[0]), k_w=lit(win.kernel[1]), stride_h=lit(win.strides[0]),
            stride_w=lit(win.strides[1]), dil_h=lit(win.dilations[0]), dil_w=lit(win.dilations[1]),
            pad_top=lit(win.pads[0]), pad_left=lit(win.pads[1]), pad_bottom=lit(win.pads[2]),
            pad_right=lit(win.pads[3]), count_include_pad=lit(p.count_include_pad))
        kernel = ctx.kernel("maxpool2d" if p.is_max else "avgpool2d")
        return [Call(kernel, (TensorArg(node.inputs[0]), TensorArg(node.outputs[0]), desc))]


# ---------------------------------------------------------------- kernel table
POOL_SIG = Sig("mf_pool.h", "const {t} *x, {t} *y, const mf_pool2d_desc *d")
kernels("mf_maxpool2d", "pool_{dtype}_ref.c", sig=POOL_SIG)
kernels("mf_avgpool2d", "pool_{dtype}_ref.c", sig=POOL_SIG)


# ---------------------------------------------------------------- backward

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
        desc = forward_desc(Pool, p.pool, [("_x", p.x_shape)], p.y_shape)
        if p.pool.is_max:
            return [Call(bwd_kernel(ctx, "mf_maxpool2d_bwd_input"), (TensorArg(node.inputs[0]), TensorArg(node.inputs[1]),
                                                         TensorArg(node.outputs[0]), desc))]
        return [Call(bwd_kernel(ctx, "mf_avgpool2d_bwd_input"), (TensorArg(node.inputs[0]), TensorArg(node.outputs[0]), desc))]


@backward_rule('MaxPool', 'AveragePool', 'GlobalAveragePool', 'GlobalMaxPool')
def _pool_backward(b: Builder, n: Node, gy: str, need: set[str], train: set[str], wgrads: dict[str, str]) -> None:
    x = n.inputs[0]
    if x in need:
        p = PoolGradParams(n.params, b.shape(x), b.shape(n.outputs[0]))
        ins = [gy, x] if n.params.is_max else [gy]
        b.accumulate(x, b.add("PoolGradInput", ins, [p.x_shape], p, n.origin, x)[0])


kernels("mf_maxpool2d_bwd_input", "pool_bwd_{dtype}_ref.c",
        sig=Sig("mf_pool.h", "const {t} *dy, const {t} *x, {t} *dx, const mf_pool2d_desc *d"))
kernels("mf_avgpool2d_bwd_input", "pool_bwd_{dtype}_ref.c", sig=Sig("mf_pool.h", "const {t} *dy, {t} *dx, const mf_pool2d_desc *d"))
