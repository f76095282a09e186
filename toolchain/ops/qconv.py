"""int8 convolution (incl. depthwise and pointwise) and fully connected layers: the integer
ops a DQ -> Conv/MatMul/Gemm -> [Relu/Clip] -> Q region folds into (frontend/quant.py).

Weights are symmetric int8 (OIHW, or [n][k]); the bias is int32 at in_scale * w_scale and
already holds -in_zp * sum(w) (mf_int8.h), so the reference here accumulates raw x * w
exactly as the C does, padding reading in_zp.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from toolchain.ir.graph import Node, Tensor
from toolchain.ops.base import Call, LowerCtx, Lit, Op, OutSpec, Scratch, TensorArg, lit, register, struct
from toolchain.ops.conv import Window, hw, out_shape, window_sums
from toolchain.ops.kernel_table import Sig, kernels
from toolchain.ops.requant import Requant

# Python twins of mf_<op>_s8_<isa>_scratch_bytes for the SIMD variants (their modules add
# themselves here). A variant without a twin is never chosen: the kernel falls back to ref.
CONV_SCRATCH: dict[str, Callable[["QConvParams", tuple[int, ...], tuple[int, ...]], int]] = {
    "ref": lambda p, xs, ws: 0}
FC_SCRATCH: dict[str, Callable[["QFcParams", int, int, int], int]] = {"ref": lambda p, m, n, k: 0}


@dataclass(frozen=True)
class QConvParams:
    win: Window
    group: int
    in_zp: int
    rq: Requant


def fold_bias(bias: np.ndarray | None, w: np.ndarray, in_zp: int) -> np.ndarray:
    """int32 bias with -in_zp * sum(w[oc]) folded in (checked to fit int32)."""
    co = w.shape[0]
    b = np.zeros(co, np.int64) if bias is None else np.asarray(bias, np.int64).reshape(co)
    b = b - int(in_zp) * w.reshape(co, -1).astype(np.int64).sum(axis=1)
    if np.any(np.abs(b) >= 2**31):
        raise ValueError("bias with the input zero point folded in overflows int32")
    return b.astype(np.int32)


def qconv_reference(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, p: QConvParams) -> np.ndarray:
    acc = window_sums(x, w, p.win, p.group, np.int64, pad=p.in_zp)
    if b is not None:
        acc += np.asarray(b, np.int64).reshape(1, -1, 1, 1)
    y = p.rq.apply(acc, 1)
    return y[:, :, 0, :] if p.win.spatial_rank == 1 else y


def conv_desc(p: QConvParams, xs: tuple[int, ...], c_out: int, rq: Requant):
    """mf_conv2d_s8_desc for c_out output channels (all, or a block of them)."""
    h, w = hw(xs)
    oh, ow = p.win.out_size(h, w)
    return struct(
        "mf_conv2d_s8_desc", n=lit(xs[0]), c_in=lit(xs[1]), h_in=lit(h), w_in=lit(w),
        c_out=lit(c_out), h_out=lit(oh), w_out=lit(ow),
        k_h=lit(p.win.kernel[0]), k_w=lit(p.win.kernel[1]),
        stride_h=lit(p.win.strides[0]), stride_w=lit(p.win.strides[1]),
        dil_h=lit(p.win.dilations[0]), dil_w=lit(p.win.dilations[1]),
        pad_top=lit(p.win.pads[0]), pad_left=lit(p.win.pads[1]), groups=lit(p.group),
        in_zp=lit(p.in_zp), rq=struct("mf_requant_s8", **rq.struct_fields()))


@register
class QConv(Op):
    op_types = ("QConv",)
    internal = True

    @classmethod
    def infer(cls, p: QConvParams, ins: list[Tensor]) -> list[OutSpec]:
        x, w = ins[0], ins[1]
        oh, ow = p.win.out_size(*hw(x.shape))
        return [OutSpec(out_shape(x.shape[0], w.shape[0], p.win, oh, ow), x.dtype)]

    @classmethod
    def reference(cls, p: QConvParams, xs: list[np.ndarray]) -> list[np.ndarray]:
        return [qconv_reference(xs[0], xs[1], xs[2] if len(xs) > 2 else None, p)]

    @classmethod
    def macs(cls, p: QConvParams, ins: list[Tensor], outs: list[Tensor]) -> int:
        return outs[0].size * int(np.prod(ins[1].shape[1:]))

    @classmethod
    def lower(cls, p: QConvParams, node: Node, ctx: LowerCtx) -> list[Call]:
        xs, ws = ctx.shape(node.inputs[0]), ctx.shape(node.inputs[1])
        desc = conv_desc(p, xs, ws[0], p.rq)
        bias = TensorArg(node.inputs[2]) if len(node.inputs) > 2 and node.inputs[2] else Lit("NULL")
        # kernels are chosen after planning: where the planner put y over x, the kernels
        # that stay correct if it does
        kind = overwrite_kind(p, xs, ws) if ctx.overwrites(node) else 0
        if kind == 1:
            return depthwise_over_input(p, node, ctx, xs, ws)
        if kind == 2:
            return [Call(ctx.kernel("conv2d_overwrite", "s8", ()), (TensorArg(node.inputs[0]), TensorArg(node.inputs[1]),
                                                                    bias, TensorArg(node.outputs[0]), desc, Scratch()),
                         overwrite_scratch_bytes(p, xs, ws))]
        kernel = ctx.kernel("conv2d", "s8", tuple(CONV_SCRATCH))
        return [Call(kernel, (TensorArg(node.inputs[0]), TensorArg(node.inputs[1]), bias,
                              TensorArg(node.outputs[0]), desc, Scratch()),
                     CONV_SCRATCH[ctx.isa_of(kernel)](p, xs, ws))]


    @classmethod
    def alias_candidates(cls, p: QConvParams, node: Node, g) -> list[tuple[str, str]]:  # noqa: ANN001
        x = node.inputs[0]
        if g.tensors[x].is_const:
            return []
        return [(x, "overwrite")] if cls.overwrite_ok(p, node, g) else []

    @classmethod
    def overwrite_ok(cls, p: QConvParams, node: Node, g) -> bool:  # noqa: ANN001
        return bool(overwrite_kind(p, g.tensors[node.inputs[0]].shape, g.tensors[node.inputs[1]].shape))


OVERWRITE_COLS = 8  # MF_CONV_OVERWRITE_S8_COLS in mf_int8.h (tests/test_int8.py checks they agree)


def channel_block(c: int, plane_out: int, plane_in: int, kk: int, frac: int = 8) -> int:
    """Channels per block when a conv runs block by block through scratch: at most 1/frac of
    the output map (one plane at least), block offsets (weights, planes) 16-byte aligned
    where a divisor of c allows it."""
    divisors = [d for d in range(1, c + 1) if c % d == 0]
    fits = [d for d in divisors if d * plane_out <= max(plane_out, c * plane_out // frac)] or [1]
    aligned = [d for d in fits if (d * kk) % 16 == 0 and (d * plane_out) % 16 == 0 and (d * plane_in) % 16 == 0]
    return max(aligned or fits)


def depthwise_over_input(p: QConvParams, node: Node, ctx: LowerCtx, xs: tuple[int, ...],
                         ws: tuple[int, ...]) -> list[Call]:
    """A depthwise conv whose output may overwrite its input: blocks of channels through the
    contract conv kernel (the board's SIMD one) into scratch, each copied over its own
    input planes once they are consumed (output planes are no larger than input planes)."""
    from toolchain.ops.base import align_up
    from toolchain.ops.base import Array, int_array

    h, w = hw(xs)
    oh, ow = p.win.out_size(h, w)
    c, kk = xs[1], int(np.prod(ws[1:]))
    block = channel_block(c, oh * ow, h * w, kk, 16)  # 1/16: not the peak of a DS-CNN block
    kernel = ctx.kernel("conv2d", "s8", tuple(CONV_SCRATCH))
    bxs = (1, block) + tuple(xs[2:])
    calls = []
    for n in range(xs[0]):
        for c0 in range(0, c, block):
            rq = p.rq if not p.rq.per_channel else Requant(p.rq.mult[c0:c0 + block], p.rq.shift[c0:c0 + block],
                                                           p.rq.out_zp, p.rq.act_min, p.rq.act_max)
            bp = QConvParams(p.win, block, p.in_zp, rq)
            out_bytes = align_up(block * oh * ow)
            bias = TensorArg(node.inputs[2], c0) if len(node.inputs) > 2 and node.inputs[2] else Lit("NULL")
            calls.append(Call(kernel, (TensorArg(node.inputs[0], (n * c + c0) * h * w), TensorArg(node.inputs[1], c0 * kk),
                                       bias, Scratch(0), conv_desc(bp, bxs, block, rq), Scratch(out_bytes)),
                              out_bytes + CONV_SCRATCH[ctx.isa_of(kernel)](bp, bxs, (block,) + tuple(ws[1:]))))
            copy = struct("mf_copy_desc", rank=lit(1), shape=int_array([block * oh * ow]), in_stride=int_array([1]),
                          out_stride=int_array([1]), index=Array((Lit("NULL"),) * 8), in_offset=lit(0),
                          out_offset=lit(0), fill=lit(0.0))
            calls.append(Call(ctx.kernel("copy", "s8", ()), (Scratch(0), TensorArg(node.outputs[0], (n * c + c0) * oh * ow),
                                                            copy)))
    return calls


def overwrite_kind(p: QConvParams, xs: tuple[int, ...], ws: tuple[int, ...]) -> int:
    """1 depthwise (blocks through scratch, depthwise_over_input), 2 pointwise (the twin of
    mf_conv2d_overwrite_s8_pointwise), 0: the output cannot overwrite the input."""
    h, w = hw(xs)
    oh, ow = p.win.out_size(h, w)
    c_in, c_out = xs[1], ws[0]
    if p.group == c_in == c_out and oh * ow <= h * w:
        return 1
    if (p.win.kernel == (1, 1) and p.win.strides == (1, 1) and p.win.pads[:2] == (0, 0) and (oh, ow) == (h, w)
            and p.group == 1 and (c_out <= c_in or xs[0] == 1)):
        return 2
    return 0


def overwrite_scratch_bytes(p: QConvParams, xs: tuple[int, ...], ws: tuple[int, ...]) -> int:
    """Twin of mf_conv2d_overwrite_s8_ref_scratch_bytes (pointwise only)."""
    return ws[0] * OVERWRITE_COLS if overwrite_kind(p, xs, ws) == 2 else 0


@dataclass(frozen=True)
class QFcParams:
    rq: Requant


@register
class QFc(Op):
    """y[..., n] = rq(bias[n] + sum_k a[..., k] * w[n][k]) (MatMul/Gemm with constant weights)."""

    op_types = ("QFc",)
    internal = True

    @classmethod
    def infer(cls, p: QFcParams, ins: list[Tensor]) -> list[OutSpec]:
        return [OutSpec(tuple(ins[0].shape[:-1]) + (ins[1].shape[0],), ins[0].dtype)]

    @classmethod
    def reference(cls, p: QFcParams, xs: list[np.ndarray]) -> list[np.ndarray]:
        a, w = xs[0].astype(np.int64), xs[1].astype(np.int64)
        acc = a @ w.T
        if len(xs) > 2 and xs[2] is not None:
            acc = acc + xs[2].astype(np.int64)
        return [p.rq.apply(acc, acc.ndim - 1)]

    @classmethod
    def macs(cls, p: QFcParams, ins: list[Tensor], outs: list[Tensor]) -> int:
        return outs[0].size * ins[0].shape[-1]

    @classmethod
    def lower(cls, p: QFcParams, node: Node, ctx: LowerCtx) -> list[Call]:
        a, ws = ctx.shape(node.inputs[0]), ctx.shape(node.inputs[1])
        m, n, k = int(np.prod(a[:-1], dtype=np.int64)), ws[0], ws[1]
        desc = struct("mf_fc_s8_desc", m=lit(m), n=lit(n), k=lit(k),
                      rq=struct("mf_requant_s8", **p.rq.struct_fields()))
        kernel = ctx.kernel("fc", "s8", tuple(FC_SCRATCH))
        bias = TensorArg(node.inputs[2]) if len(node.inputs) > 2 and node.inputs[2] else Lit("NULL")
        return [Call(kernel, (TensorArg(node.inputs[0]), TensorArg(node.inputs[1]), bias,
                              TensorArg(node.outputs[0]), desc, Scratch()),
                     FC_SCRATCH[ctx.isa_of(kernel)](p, m, n, k))]


@dataclass(frozen=True)
class QConvAddParams:
    """A QConv whose only reader is a QAdd with a skip tensor (passes/qresidual.py)."""

    conv: QConvParams
    add: "QAddParams"  # noqa: F821 - toolchain.ops.qelementwise
    conv_is_a: bool


def conv_add_block(c_out: int, plane: int, kk: int, batch: int) -> int:
    """Output channels per QConvAdd block (all of them for a batch > 1: blocks of channels
    are contiguous in NCHW only for one image)."""
    return c_out if batch != 1 else channel_block(c_out, plane, plane, kk)


@register
class QConvAdd(Op):
    """inputs: x, w, bias, skip; y = add(conv(x), skip) element by element, y may be skip."""

    op_types = ("QConvAdd",)
    internal = True

    @classmethod
    def infer(cls, p: QConvAddParams, ins: list[Tensor]) -> list[OutSpec]:
        return [OutSpec(ins[3].shape, ins[3].dtype)]

    @classmethod
    def reference(cls, p: QConvAddParams, xs: list[np.ndarray]) -> list[np.ndarray]:
        from toolchain.ops.qelementwise import QAdd

        c = qconv_reference(xs[0], xs[1], xs[2], p.conv)
        pair = [c, xs[3]] if p.conv_is_a else [xs[3], c]
        return QAdd.reference(p.add, pair)

    @classmethod
    def macs(cls, p: QConvAddParams, ins: list[Tensor], outs: list[Tensor]) -> int:
        return outs[0].size * int(np.prod(ins[1].shape[1:]))

    @classmethod
    def lower(cls, p: QConvAddParams, node: Node, ctx: LowerCtx) -> list[Call]:
        """Blocks of output channels, each through the contract kernels (so the board's SIMD
        conv runs it): the conv of the block into scratch, then the add of scratch and the
        skip's block into y's block. Only the skip's block is overwritten, after it is read,
        and the scratch holds one block: the skip's memory is the output's."""
        from toolchain.ops.base import align_up
        from toolchain.ops.qelementwise import QAdd

        xs, ws = ctx.shape(node.inputs[0]), ctx.shape(node.inputs[1])
        oh, ow = p.conv.win.out_size(*hw(xs))
        plane, kk = oh * ow, int(np.prod(ws[1:]))
        block = conv_add_block(ws[0], plane, kk, xs[0])
        kernel = ctx.kernel("conv2d", "s8", tuple(CONV_SCRATCH))
        rq = p.conv.rq
        skip, y = node.inputs[3], node.outputs[0]
        calls = []
        out_bytes = block * plane * xs[0]
        for c0 in range(0, ws[0], block):
            brq = rq if not rq.per_channel else Requant(rq.mult[c0:c0 + block], rq.shift[c0:c0 + block], rq.out_zp,
                                                        rq.act_min, rq.act_max)
            bp = QConvParams(p.conv.win, p.conv.group, p.conv.in_zp, brq)
            bws = (block,) + tuple(ws[1:])
            isa_scratch = CONV_SCRATCH[ctx.isa_of(kernel)](bp, xs, bws)
            bias = TensorArg(node.inputs[2], c0) if node.inputs[2] else Lit("NULL")
            calls.append(Call(kernel, (TensorArg(node.inputs[0]), TensorArg(node.inputs[1], c0 * kk), bias, Scratch(0),
                                       conv_desc(bp, xs, block, brq), Scratch(align_up(out_bytes))),
                              align_up(out_bytes) + isa_scratch))
            # the block's outputs are contiguous when n == 1 (conv_add_block asks for it)
            ab = [Scratch(0), TensorArg(skip, c0 * plane)] if p.conv_is_a else [TensorArg(skip, c0 * plane), Scratch(0)]
            calls.append(Call(ctx.kernel("add", "s8", ()), (*ab, TensorArg(y, c0 * plane),
                                                           QAdd.desc(p.add, block * plane))))
        return calls

    @classmethod
    def alias_candidates(cls, p: QConvAddParams, node: Node, g) -> list[tuple[str, str]]:  # noqa: ANN001
        skip = node.inputs[3]
        # the conv reads all of x while y is written: y may only take the skip's memory
        return [(skip, "inplace")] if skip != node.inputs[0] and not g.tensors[skip].is_const else []


# the kernel table (ops/kernel_table.py): the int8 reference kernels of this family
CONV_S8_SIG = Sig("mf_int8.h", "const int8_t *x, const int8_t *w, const int32_t *bias, int8_t *y, const mf_conv2d_s8_desc *d, void *scratch")
FC_S8_SIG = Sig("mf_int8.h", "const int8_t *a, const int8_t *w, const int32_t *bias, int8_t *y, const mf_fc_s8_desc *d, void *scratch")
kernels("mf_conv2d", "conv_s8_ref.c", ("s8",), sig=CONV_S8_SIG)
kernels("mf_fc", "conv_s8_ref.c", ("s8",), sig=FC_S8_SIG)
kernels("mf_conv2d_overwrite", "conv_overwrite_s8_ref.c", ("s8",), needs=("conv_s8_ref.c",), sig=CONV_S8_SIG)
