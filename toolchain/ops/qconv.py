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
from toolchain.ops.base import Call, IntArray, LowerCtx, Lit, Op, OutSpec, Scratch, TensorArg, lit, register, struct
from toolchain.ops.conv import Window, hw, out_shape, window_sums
from toolchain.ops.kernel_table import Sig, kernels
from toolchain.ops.requant import Requant

# Python twins of mf_<op>_s8_<isa>_scratch_bytes for the SIMD variants (their modules add
# themselves here). A variant without a twin is never chosen: the kernel falls back to ref.
CONV_SCRATCH: dict[str, Callable[["QConvParams", tuple[int, ...], tuple[int, ...]], int]] = {
    "ref": lambda p, xs, ws: 0}
FC_SCRATCH: dict[str, Callable[["QFcParams", int, int, int], int]] = {"ref": lambda p, m, n, k: 0}
# The same for mf_conv2d_overwrite_s8_<isa> (pointwise over its input).
OVERWRITE_SCRATCH: dict[str, Callable[["QConvParams", tuple[int, ...], tuple[int, ...]], int]] = {
    "ref": lambda p, xs, ws: overwrite_scratch_bytes(p, xs, ws)}


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


def dsp_weights(w: np.ndarray) -> tuple[int, ...]:
    """mf_conv2d_s8_desc w_dsp: int8 weights [c_out][k] widened into the DSP GEMM's SMLAD
    pairs, each row's k zero-padded to a multiple of 4, per four k the int32 words
    (w0 | w2 << 16, w1 | w3 << 16) of int16 halves (what LDR + SXTB16 gave at run time)."""
    co = w.shape[0]
    k = int(np.prod(w.shape[1:]))
    wk = np.zeros((co, (k + 3) // 4 * 4), np.int64)
    wk[:, :k] = np.asarray(w, np.int64).reshape(co, k)
    g = wk.reshape(co, -1, 4) & 0xFFFF
    words = np.stack([g[:, :, 0] | g[:, :, 2] << 16, g[:, :, 1] | g[:, :, 3] << 16], axis=2)
    words = np.where(words >= 2**31, words - 2**32, words)
    return tuple(int(v) for v in words.reshape(-1))


# The widened copy triples a conv's weight bytes in flash (the int8 weights stay for the
# reference and the C tails): layers above this keep int8 only, so a model whose flash is
# bound by one big conv (the int8 ViT's 98 KB patch embedding) is not pushed out of it.
# ResNet-8's largest conv (64 x 64 x 3 x 3) is 36,864 B.
DSP_WIDEN_MAX_BYTES = 40 * 1024


def dsp_weights_arg(ctx: LowerCtx, kernel: str, p: "QConvParams", w_name: str) -> IntArray | Lit:
    """The packed weights for a DSP conv/pointwise kernel with constant weights, else NULL
    (depthwise layers read w: their kernel is not the GEMM)."""
    t = ctx.tensors[w_name]
    if (ctx.isa_of(kernel) != "dsp" or t.data is None or (p.group > 1 and p.group == t.shape[0])
            or t.data.size > DSP_WIDEN_MAX_BYTES):
        return Lit("NULL")
    return IntArray(dsp_weights(t.data), "weights")  # a second copy of w: counted as weights


def conv_desc(p: QConvParams, xs: tuple[int, ...], c_out: int, rq: Requant, band: tuple[int, int] | None = None,
              w_dsp: IntArray | Lit | None = None):
    """mf_conv2d_s8_desc for c_out output channels (all, or a block of them); band: output
    rows (first, count) only, as the same conv with a lowered pad_top (mf_int8.h); w_dsp:
    the DSP kernel's widened weights (dsp_weights_arg)."""
    h, w = hw(xs)
    oh, ow = p.win.out_size(h, w)
    r0, oh = band if band else (0, oh)
    return struct(
        "mf_conv2d_s8_desc", n=lit(xs[0]), c_in=lit(xs[1]), h_in=lit(h), w_in=lit(w),
        c_out=lit(c_out), h_out=lit(oh), w_out=lit(ow),
        k_h=lit(p.win.kernel[0]), k_w=lit(p.win.kernel[1]),
        stride_h=lit(p.win.strides[0]), stride_w=lit(p.win.strides[1]),
        dil_h=lit(p.win.dilations[0]), dil_w=lit(p.win.dilations[1]),
        pad_top=lit(p.win.pads[0] - r0 * p.win.strides[0]), pad_left=lit(p.win.pads[1]), groups=lit(p.group),
        in_zp=lit(p.in_zp), rq=struct("mf_requant_s8", **rq.struct_fields()), w_dsp=w_dsp or Lit("NULL"))


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
        bias = TensorArg(node.inputs[2]) if len(node.inputs) > 2 and node.inputs[2] else Lit("NULL")
        # kernels are chosen after planning: where the planner put y over x, the kernels
        # that stay correct if it does
        kind = overwrite_kind(p, xs, ws) if ctx.overwrites(node) else 0
        if kind == 1:
            return depthwise_over_input(p, node, ctx, xs, ws)
        if kind == 2:
            ow_kernel = ctx.kernel("conv2d_overwrite", "s8", tuple(OVERWRITE_SCRATCH))
            desc = conv_desc(p, xs, ws[0], p.rq, w_dsp=dsp_weights_arg(ctx, ow_kernel, p, node.inputs[1]))
            return [Call(ow_kernel, (TensorArg(node.inputs[0]), TensorArg(node.inputs[1]),
                                     bias, TensorArg(node.outputs[0]), desc, Scratch()),
                         OVERWRITE_SCRATCH[ctx.isa_of(ow_kernel)](p, xs, ws))]
        kernel = ctx.kernel("conv2d", "s8", tuple(CONV_SCRATCH))
        desc = conv_desc(p, xs, ws[0], p.rq, w_dsp=dsp_weights_arg(ctx, kernel, p, node.inputs[1]))
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
    """A depthwise conv whose output may overwrite its input: one call of the board's SIMD
    kernel with y = x, or (the reference, which reads x while it writes y) blocks of
    channels through it into scratch, each copied over its own input planes once they are
    consumed (output planes are no larger than input planes)."""
    from toolchain.ops.base import align_up
    from toolchain.ops.base import Array, int_array

    h, w = hw(xs)
    oh, ow = p.win.out_size(h, w)
    c, kk = xs[1], int(np.prod(ws[1:]))
    kernel = ctx.kernel("conv2d", "s8", tuple(CONV_SCRATCH))
    if ctx.isa_of(kernel) != "ref":
        # the SIMD kernels copy each channel into their padded plane before writing any of
        # its outputs, channel by channel: y may be x (mf_int8.h), no blocks, no copies
        desc = conv_desc(p, xs, ws[0], p.rq)
        bias = TensorArg(node.inputs[2]) if len(node.inputs) > 2 and node.inputs[2] else Lit("NULL")
        return [Call(kernel, (TensorArg(node.inputs[0]), TensorArg(node.inputs[1]), bias, TensorArg(node.outputs[0]),
                              desc, Scratch()), CONV_SCRATCH[ctx.isa_of(kernel)](p, xs, ws))]
    block = channel_block(c, oh * ow, h * w, kk, 16)  # 1/16: not the peak of a DS-CNN block
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


# A QConvAdd band's conv output (all channels) is at most 1/8 of the output map, but may
# take 2 KiB (never half the map): below that the per-band calls and partial im2col panels
# cost more instructions than the bytes are worth (ResNet-8's last blocks).
CONV_ADD_BAND_FLOOR = 2048


def add_term(zp: int, mult: int, shift: int, left_shift: int) -> tuple[int, ...]:
    """One add input's rescaled term for every int8 value (mf_add_rows_s8_desc a_term)."""
    from toolchain.ops.requant import requant

    v = (np.arange(-128, 128, dtype=np.int64) - zp) << left_shift
    return tuple(int(t) for t in requant(v, mult, shift))


def conv_add_band(c_out: int, oh: int, ow: int, batch: int) -> int:
    """Output rows per QConvAdd band: the most that fit the budget (one at least),
    preferring a divisor of oh so that every band has the same shape."""
    total = batch * c_out * oh * ow
    budget = max(batch * c_out * ow, min(max(total // 8, CONV_ADD_BAND_FLOOR), total // 2))
    fits = [r for r in range(1, oh + 1) if batch * c_out * r * ow <= budget] or [1]
    return max([r for r in fits if oh % r == 0] or fits)


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
        """Bands of output rows, each through the contract kernels (so the board's SIMD
        conv runs it, and each im2col column is built once): the conv of the band, all
        channels, into scratch, then one strided add of scratch and the skip's band into
        y's band. Only the skip's band is overwritten, after it is read, and the scratch
        holds one band: the skip's memory is the output's."""
        from toolchain.ops.base import IntArray, align_up
        from toolchain.ops.qelementwise import QAdd

        xs, ws = ctx.shape(node.inputs[0]), ctx.shape(node.inputs[1])
        oh, ow = p.conv.win.out_size(*hw(xs))
        n, c_out = xs[0], ws[0]
        rows = conv_add_band(c_out, oh, ow, n)
        kernel = ctx.kernel("conv2d", "s8", tuple(CONV_SCRATCH))
        skip, y = node.inputs[3], node.outputs[0]
        bias = TensorArg(node.inputs[2]) if node.inputs[2] else Lit("NULL")
        w_dsp = dsp_weights_arg(ctx, kernel, p.conv, node.inputs[1])
        calls = []
        for r0 in range(0, oh, rows):
            nr = min(rows, oh - r0)
            band = align_up(n * c_out * nr * ow)
            # a non-depthwise conv's scratch (an im2col panel) does not depend on h_out: the
            # whole conv's size is the band's
            isa_scratch = CONV_SCRATCH[ctx.isa_of(kernel)](p.conv, xs, ws)
            calls.append(Call(kernel, (TensorArg(node.inputs[0]), TensorArg(node.inputs[1]), bias, Scratch(0),
                                       conv_desc(p.conv, xs, c_out, p.conv.rq, (r0, nr), w_dsp), Scratch(band)),
                              band + isa_scratch))
            a, b = (Scratch(0), TensorArg(skip, r0 * ow)) if p.conv_is_a else (TensorArg(skip, r0 * ow), Scratch(0))
            strides = (nr * ow, oh * ow) if p.conv_is_a else (oh * ow, nr * ow)
            desc = struct("mf_add_rows_s8_desc", add=QAdd.desc(p.add, nr * ow), rows=lit(n * c_out),
                          a_stride=lit(strides[0]), b_stride=lit(strides[1]), y_stride=lit(oh * ow),
                          a_term=IntArray(add_term(p.add.a_zp, p.add.a_mult, p.add.a_shift, p.add.left_shift)),
                          b_term=IntArray(add_term(p.add.b_zp, p.add.b_mult, p.add.b_shift, p.add.left_shift)))
            calls.append(Call(ctx.kernel("add_rows", "s8", ("mve", "rvv", "dsp")), (a, b, TensorArg(y, r0 * ow), desc)))
        return calls

    @classmethod
    def alias_candidates(cls, p: QConvAddParams, node: Node, g) -> list[tuple[str, str]]:  # noqa: ANN001
        skip = node.inputs[3]
        # the conv reads all of x while y is written: y may only take the skip's memory
        return [(skip, "inplace")] if skip != node.inputs[0] and not g.tensors[skip].is_const else []


# the kernel table (ops/kernel_table.py): the int8 reference kernels of this family
CONV_S8_SIG = Sig("mf_int8.h", "const int8_t *x, const int8_t *w, const int32_t *bias, int8_t *y, const mf_conv2d_s8_desc *d, void *scratch")
FC_S8_SIG = Sig("mf_int8.h", "const int8_t *a, const int8_t *w, const int32_t *bias, int8_t *y, const mf_fc_s8_desc *d, void *scratch")
ADD_ROWS_S8_SIG = Sig("mf_int8.h", "const int8_t *a, const int8_t *b, int8_t *y, const mf_add_rows_s8_desc *d")
kernels("mf_conv2d", "conv_s8_ref.c", ("s8",), sig=CONV_S8_SIG)
kernels("mf_fc", "conv_s8_ref.c", ("s8",), sig=FC_S8_SIG)
kernels("mf_conv2d_overwrite", "conv_overwrite_s8_ref.c", ("s8",), needs=("conv_s8_ref.c",), sig=CONV_S8_SIG)
kernels("mf_add_rows", "add_rows_s8_ref.c", ("s8",), needs=("quant_s8_ref.c",), sig=ADD_ROWS_S8_SIG)
# Helium and RVV: gathers from the tables, VMULH/vmulh; no scratch
kernels("mf_add_rows", "add_rows_s8_{isa}.c", ("s8",), ("mve", "rvv"), needs=("add_rows_s8_ref.c",), sig=ADD_ROWS_S8_SIG)
