"""Conv (1-D and 2-D, groups so depthwise, pads, strides, dilations) with a fused activation,
optionally a fused residual add, and the kernels that let its output share an input's buffer
(runtime_c/include/mf_conv_inplace.h):

- overwrite (y over x): depthwise, and pointwise 1x1 convs, for MobileNet/DS-CNN blocks;
- in place over the skip (y over skip): the residual conv built by passes/residual.py.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from toolchain.ir.graph import Graph, Node, Tensor
from toolchain.ops.base import (
    Attrs, Call, KernelTarget, LowerCtx, Lit, Op, OutSpec, Scratch, Struct, TensorArg, lit, register, struct,
)
from toolchain.ops.elementwise import Act, act_grad, apply_act, torch_act
from toolchain.ops.grad import Builder, TrainOp, backward_rule, bwd_kernel, forward_desc, isa_of, unsupported
from toolchain.ops.kernel_table import Sig, available, c_file, entry, kernels


@dataclass(frozen=True)
class Window:
    """A 2-D sliding window; 1-D ops use h = 1."""

    kernel: tuple[int, int]
    strides: tuple[int, int]
    dilations: tuple[int, int]
    pads: tuple[int, int, int, int]  # top, left, bottom, right
    spatial_rank: int

    def out_size(self, h: int, w: int, ceil_mode: bool = False) -> tuple[int, int]:
        out = []
        for i, n in enumerate((h, w)):
            span = self.dilations[i] * (self.kernel[i] - 1) + 1
            total = n + self.pads[i] + self.pads[i + 2] - span
            s = self.strides[i]
            o = (-(-total // s) if ceil_mode else total // s) + 1
            if ceil_mode and (o - 1) * s >= n + self.pads[i]:
                o -= 1  # the last window must start inside the input or its begin pad
            out.append(o)
        return out[0], out[1]


def parse_window(attrs: Attrs, x_shape: tuple[int, ...], kernel: tuple[int, ...] | None) -> Window:
    sr = len(x_shape) - 2
    if sr not in (1, 2):
        raise attrs.error(f"{sr}-D spatial input is not supported (only 1-D and 2-D)")
    k = attrs.ints("kernel_shape") or kernel
    if k is None or len(k) != sr:
        raise attrs.error("kernel_shape is missing or of the wrong rank")
    s = attrs.ints("strides") or (1,) * sr
    d = attrs.ints("dilations") or (1,) * sr
    # onnx's checker lets these through; each would divide by zero or index past the end
    for what, v in (("kernel_shape", k), ("strides", s), ("dilations", d)):
        if len(v) != sr or any(x < 1 for x in v):
            raise attrs.error(f"{what}={list(v)}: expected {sr} values of at least 1")
    auto = attrs.str("auto_pad", "NOTSET")
    spatial = x_shape[2:]
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        begins, ends = [], []
        for i in range(sr):
            out = -(-spatial[i] // s[i])
            total = max((out - 1) * s[i] + (k[i] - 1) * d[i] + 1 - spatial[i], 0)
            small, big = total // 2, total - total // 2
            begins.append(small if auto == "SAME_UPPER" else big)
            ends.append(big if auto == "SAME_UPPER" else small)
        p = tuple(begins) + tuple(ends)
    elif auto == "VALID":
        p = (0,) * (2 * sr)
    elif auto == "NOTSET":
        p = attrs.ints("pads") or (0,) * (2 * sr)
        if len(p) != 2 * sr:
            raise attrs.error(f"pads={list(p)}: expected {2 * sr} values (begin and end per spatial axis)")
    else:
        raise attrs.error(f"auto_pad={auto!r} is not supported")
    if sr == 1:
        return Window((1, k[0]), (1, s[0]), (1, d[0]), (0, p[0], 0, p[1]), 1)
    return Window((k[0], k[1]), (s[0], s[1]), (d[0], d[1]), (p[0], p[1], p[2], p[3]), 2)


def hw(shape: tuple[int, ...]) -> tuple[int, int]:
    return (1, shape[2]) if len(shape) == 3 else (shape[2], shape[3])


def out_shape(n: int, c: int, win: Window, oh: int, ow: int) -> tuple[int, ...]:
    return (n, c, ow) if win.spatial_rank == 1 else (n, c, oh, ow)


@dataclass(frozen=True)
class ConvParams:
    win: Window
    group: int
    act: Act = Act()
    # inputs[3] is a skip tensor added before the activation: y = act(conv(x) + b + skip)
    residual: bool = False


def window_sums(x: np.ndarray, w: np.ndarray, win: Window, group: int, dtype: type, pad: int = 0) -> np.ndarray:
    """sum over each window of x * w, NCHW with groups, accumulated in `dtype`; the padding
    reads `pad` (int8: the input zero point). A 1-D window comes back with h = 1."""
    if win.spatial_rank == 1:
        x, w = x[:, :, None, :], w[:, :, None, :]
    n, _, h, wd = x.shape
    oh, ow = win.out_size(h, wd)
    (kh, kw), (sh, sw), (dh, dw) = win.kernel, win.strides, win.dilations
    pt, pl, pb, pr = win.pads
    xp = np.pad(x.astype(dtype), ((0, 0), (0, 0), (pt, pb), (pl, pr)), constant_values=pad)
    co, cig = w.shape[0], w.shape[1]
    cog = co // group
    acc = np.zeros((n, co, oh, ow), dtype)
    for g in range(group):
        xs = xp[:, g * cig:(g + 1) * cig]
        wg = w[g * cog:(g + 1) * cog].astype(dtype)
        for i in range(kh):
            for j in range(kw):
                patch = xs[:, :, i * dh: i * dh + sh * (oh - 1) + 1: sh, j * dw: j * dw + sw * (ow - 1) + 1: sw]
                acc[:, g * cog:(g + 1) * cog] += np.einsum("nchw,oc->nohw", patch, wg[:, :, i, j])
    return acc


def conv_reference(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, p: ConvParams) -> np.ndarray:
    """Plain numpy convolution (float64 accumulate), used for folding and tests."""
    y = window_sums(x, w, p.win, p.group, np.float64)
    if b is not None:
        y += b.reshape(1, -1, 1, 1)
    y = apply_act(p.act, y.astype(x.dtype))
    return y[:, :, 0, :] if p.win.spatial_rank == 1 else y


@register
class Conv(Op):
    op_types = ("Conv",)
    weight_inputs = (1, 2)

    @classmethod
    def parse(cls, attrs: Attrs, ins: list[Tensor | None], opset: int) -> ConvParams:
        x, w = ins[0], ins[1]
        win = parse_window(attrs, x.shape, tuple(w.shape[2:]))
        group = attrs.int("group", 1)
        if x.shape[1] != w.shape[1] * group:
            raise attrs.error(f"input channels {x.shape[1]} != weight channels {w.shape[1]} x group {group}")
        return ConvParams(win, group)

    @classmethod
    def infer(cls, p: ConvParams, ins: list[Tensor]) -> list[OutSpec]:
        x, w = ins[0], ins[1]
        oh, ow = p.win.out_size(*hw(x.shape))
        return [OutSpec(out_shape(x.shape[0], w.shape[0], p.win, oh, ow), x.dtype)]

    @classmethod
    def reference(cls, p: ConvParams, xs: list[np.ndarray]) -> list[np.ndarray]:
        bias = xs[2] if len(xs) > 2 else None
        if not p.residual:
            return [conv_reference(xs[0], xs[1], bias, p)]
        y = conv_reference(xs[0], xs[1], bias, replace(p, act=Act(), residual=False))
        return [apply_act(p.act, (y + xs[3]).astype(xs[0].dtype))]

    @classmethod
    def torch_ref(cls, p: ConvParams, xs: list, torch: Any) -> list:
        x, w, b = xs[0], xs[1], xs[2] if len(xs) > 2 else None
        F, win = torch.nn.functional, p.win
        pt, pl, pb, pr = win.pads
        if win.spatial_rank == 1:
            y = F.conv1d(F.pad(x, (pl, pr)), w, b, stride=win.strides[1], dilation=win.dilations[1], groups=p.group)
        else:
            y = F.conv2d(F.pad(x, (pl, pr, pt, pb)), w, b, stride=win.strides, dilation=win.dilations, groups=p.group)
        return [torch_act(p, y, torch)]

    @classmethod
    def macs(cls, p: ConvParams, ins: list[Tensor], outs: list[Tensor]) -> int:
        w = ins[1].shape
        return outs[0].size * int(np.prod(w[1:]))

    @classmethod
    def lower(cls, p: ConvParams, node: Node, ctx: LowerCtx) -> list[Call]:
        xs, ws = ctx.shape(node.inputs[0]), ctx.shape(node.inputs[1])
        h, w = hw(xs)
        oh, ow = p.win.out_size(h, w)
        desc = struct(
            "mf_conv2d_desc", n=lit(xs[0]), c_in=lit(xs[1]), h_in=lit(h), w_in=lit(w),
            c_out=lit(ws[0]), h_out=lit(oh), w_out=lit(ow),
            k_h=lit(p.win.kernel[0]), k_w=lit(p.win.kernel[1]),
            stride_h=lit(p.win.strides[0]), stride_w=lit(p.win.strides[1]),
            dil_h=lit(p.win.dilations[0]), dil_w=lit(p.win.dilations[1]),
            pad_top=lit(p.win.pads[0]), pad_left=lit(p.win.pads[1]), groups=lit(p.group),
            act=p.act.struct())
        bias = TensorArg(node.inputs[2]) if len(node.inputs) > 2 and node.inputs[2] else Lit("NULL")
        x, wt, y = TensorArg(node.inputs[0]), TensorArg(node.inputs[1]), TensorArg(node.outputs[0])
        shape = conv_shape(p, xs, ws)
        elem = ctx.tensors[node.inputs[0]].dtype.itemsize
        if p.residual:
            kernel = ctx.kernel("conv2d_residual")
            return [Call(kernel, (x, wt, bias, TensorArg(node.inputs[3]), y, Scratch(), desc),
                         entry(kernel).scratch_bytes(shape, xs[0], elem))]
        # Only where the plan put y over x: elsewhere the plain kernel (often a faster one).
        if overwrite_kind(shape, xs[0]) and ctx.overwrites(node):
            kernel = ctx.kernel("conv2d_overwrite")
            return [Call(kernel, (x, wt, bias, y, Scratch(), desc), entry(kernel).scratch_bytes(shape, xs[0], elem))]
        kernel = ctx.kernel("conv2d")
        args = (x, wt, bias, y, desc)
        if ctx.isa_of(kernel) == "ref":
            return [Call(kernel, args)]
        # the fast kernels run im2col + GEMM and take scratch (mf_fast.h)
        return [Call(kernel, args + (Scratch(),), entry(kernel).scratch_bytes(shape, xs[0], elem))]

    @classmethod
    def alias_candidates(cls, p: ConvParams, node: Node, g: Graph) -> list[tuple[str, str]]:
        x = node.inputs[0]
        if g.tensors[x].is_const:
            return []
        if p.residual:
            # y[i] = act(conv(x)[i] + skip[i]) reads skip[i] just before writing y[i]; x must
            # stay intact for the whole conv, so it cannot be the skip.
            skip = node.inputs[3]
            return [(skip, "inplace")] if skip != x else []
        return [(x, "overwrite")] if cls.overwrite_ok(p, node, g) else []

    @classmethod
    def overwrite_slowdown(cls, p: ConvParams, node: Node, g: Graph, target: KernelTarget) -> tuple[str, float]:
        """(overwrite kind, estimated instructions of the overwrite kernel / the plain one) on
        `target`, from OVERWRITE_SLOWDOWN; toolchain.prefer weighs it against the bytes saved."""
        xs, ws = g.tensors[node.inputs[0]].shape, g.tensors[node.inputs[1]].shape
        kind = overwrite_kind(conv_shape(p, xs, ws), xs[0])
        ctx = LowerCtx(g.tensors, target, available())
        isa = ctx.isa_of(ctx.kernel("conv2d_overwrite"))
        return kind, OVERWRITE_SLOWDOWN.get((kind, target.dtype, isa), 1.0)

    @classmethod
    def overwrite_ok(cls, p: ConvParams, node: Node, g: Graph) -> bool:
        if p.residual:
            return False
        xs, ws = g.tensors[node.inputs[0]].shape, g.tensors[node.inputs[1]].shape
        return bool(overwrite_kind(conv_shape(p, xs, ws), xs[0]))


# Instructions of the overwrite kernel over those of the out-of-place one, (kind, dtype, ISA of
# the overwrite kernel) -> ratio, from `python bench/kernels.py` on DS-CNN's layers (depthwise
# 3x3 64 channels on 25x5, pointwise 64->64 on 25x5); what --prefer weighs against the bytes
# an overwrite saves (toolchain/prefer.py). A pair not listed counts as the same speed.
OVERWRITE_SLOWDOWN = {
    ("depthwise", "f32", "dsp"): 1.04, ("pointwise", "f32", "dsp"): 1.04,
    # RVV depthwise: 1.00 since the narrow-plane kernel writes each plane over itself one
    # vector late (no copy through scratch): 96,307 / 96,240 FP32, 45,001 / 44,912 FP16
    ("depthwise", "f32", "rvv"): 1.00, ("pointwise", "f32", "rvv"): 2.10,
    ("depthwise", "f16", "rvv"): 1.00, ("pointwise", "f16", "rvv"): 1.08,
    ("depthwise", "f32", "mve"): 1.07, ("pointwise", "f32", "mve"): 1.09,
    ("depthwise", "f16", "mve"): 1.06, ("pointwise", "f16", "mve"): 1.32,
    # FP16 storage on cores without FP16 SIMD (the M7): the overwrite kernel's FP32 tiles beat
    # the reference conv's per-element conversions at pointwise
    ("depthwise", "f16", "ref"): 1.02, ("pointwise", "f16", "ref"): 0.24,
}

# ---------------------------------------------------------------- scratch of the fast kernels

# Output pixels per im2col chunk (MF_CONV_COLS_<ISA>, mf_fast.h) and pixel columns per
# pointwise overwrite tile (MF_CONV_OVERWRITE_COLS[_<ISA>], mf_conv_inplace.h); the C and
# these agree (tests/test_kernel_table.py).
CONV_COLS = {"ref": 4, "dsp": 4, "rvv": 16, "mve": 16}
OVERWRITE_COLS = {"ref": 8, "dsp": 8, "mve": 8, "rvv": 16}


def conv_cols(isa: str) -> int:
    return CONV_COLS[isa]


@dataclass(frozen=True)
class ConvShape:
    c_in: int
    c_out: int
    groups: int
    kernel: tuple[int, int]
    strides: tuple[int, int]
    pads: tuple[int, int]  # top, left
    hw_in: tuple[int, int]
    hw_out: tuple[int, int]
    dilations: tuple[int, int] = (1, 1)


def conv_shape(p: ConvParams, xs: tuple[int, ...], ws: tuple[int, ...]) -> ConvShape:
    h, w = hw(xs)
    return ConvShape(xs[1], ws[0], p.group, p.win.kernel, p.win.strides, p.win.pads[:2], (h, w),
                     p.win.out_size(h, w), p.win.dilations)


def scratch_bytes(s: ConvShape, elem_bytes: int, cols: int) -> int:
    """Twin of mf_conv2d_scratch_bytes (runtime_c/src/conv_im2col_f32_ref.c)."""
    depthwise = s.groups == s.c_in == s.c_out
    pointwise = (s.kernel == (1, 1) and s.strides == (1, 1) and s.pads == (0, 0) and s.hw_in == s.hw_out)
    if depthwise or pointwise:
        return 0
    return s.c_in // s.groups * s.kernel[0] * s.kernel[1] * cols * elem_bytes


# ---------------------------------------------------------------- overwrite and residual kernels

def overwrite_cols(isa: str = "ref") -> int:
    return OVERWRITE_COLS[isa]


def _pointwise(s: ConvShape) -> bool:
    return s.kernel == (1, 1) and s.strides == (1, 1) and s.pads == (0, 0) and s.hw_in == s.hw_out


def overwrite_kind(s: ConvShape, batch: int) -> str:
    """Twin of mf_conv2d_overwrite_kind: "depthwise", "pointwise" or "" (cannot overwrite)."""
    if s.groups == s.c_in == s.c_out and s.hw_out[0] * s.hw_out[1] <= s.hw_in[0] * s.hw_in[1]:
        return "depthwise"
    # With c_out > c_in, batch 0's extra channels would land on batch 1's unread input.
    if _pointwise(s) and s.groups == 1 and (s.c_out <= s.c_in or batch == 1):
        return "pointwise"
    return ""


def overwrite_scratch_bytes(s: ConvShape, batch: int, elem_bytes: int, cols: int | None = None) -> int:
    """Twin of mf_conv2d_overwrite_scratch_bytes: one output plane (depthwise) or a
    c_out x cols tile (pointwise; default MF_CONV_OVERWRITE_COLS)."""
    kind = overwrite_kind(s, batch)
    if kind == "depthwise":
        return s.hw_out[0] * s.hw_out[1] * elem_bytes
    if kind == "pointwise":
        return s.c_out * (cols or overwrite_cols()) * elem_bytes
    return 0


def overwrite_scratch_bytes_rvv(s: ConvShape, batch: int, elem_bytes: int) -> int:
    """Twin of mf_conv2d_overwrite_scratch_bytes_rvv: the zero-padded input plane the output
    rows read (depthwise) or a c_out x MF_CONV_OVERWRITE_COLS_RVV tile (pointwise)."""
    kind = overwrite_kind(s, batch)
    if kind == "depthwise":
        hp = (s.hw_out[0] - 1) * s.strides[0] + (s.kernel[0] - 1) * s.dilations[0] + 1
        wp = (s.hw_out[1] - 1) * s.strides[1] + (s.kernel[1] - 1) * s.dilations[1] + 1
        return hp * wp * elem_bytes
    return overwrite_scratch_bytes(s, batch, elem_bytes, overwrite_cols("rvv"))


def residual_scratch_bytes(s: ConvShape, elem_bytes: int, cols: int) -> int:
    """Twin of mf_conv2d_residual_scratch_bytes: a c_out/groups x cols tile, plus the im2col
    panel of `cols` pixels unless the conv reads its input directly (pointwise)."""
    panel = 0 if _pointwise(s) else s.c_in // s.groups * s.kernel[0] * s.kernel[1]
    return (s.c_out // s.groups + panel) * cols * elem_bytes


# ---------------------------------------------------------------- kernel table
# scratch formulas: (isa, ConvShape, batch, element bytes) -> bytes

def _im2col_scratch(isa: str, s: ConvShape, batch: int, elem: int) -> int:
    return scratch_bytes(s, elem, conv_cols(isa))


def _overwrite_scratch(isa: str, s: ConvShape, batch: int, elem: int) -> int:
    return overwrite_scratch_bytes(s, batch, elem, overwrite_cols(isa))


def _overwrite_scratch_rvv(isa: str, s: ConvShape, batch: int, elem: int) -> int:
    return overwrite_scratch_bytes_rvv(s, batch, elem)


def _residual_scratch(isa: str, s: ConvShape, batch: int, elem: int) -> int:
    return residual_scratch_bytes(s, elem, conv_cols(isa))


# the family's C declarations (mf_conv.h; {t} = the element type): the reference conv, the
# conv with its im2col/row scratch, and the overwrite and residual kernels
CONV_SIG = Sig("mf_conv.h", "const {t} *x, const {t} *w, const {t} *bias, {t} *y, const mf_conv2d_desc *d")
CONV_SCRATCH_SIG = Sig("mf_conv.h", "const {t} *x, const {t} *w, const {t} *bias, {t} *y, const mf_conv2d_desc *d, "
                       "{t} *scratch")
OVERWRITE_SIG = Sig("mf_conv.h", "const {t} *x, const {t} *w, const {t} *bias, {t} *y, {t} *scratch, "
                    "const mf_conv2d_desc *d")
RESIDUAL_SIG = Sig("mf_conv.h", "const {t} *x, const {t} *w, const {t} *bias, const {t} *skip, {t} *y, {t} *scratch, "
                   "const mf_conv2d_desc *d")
c_file("conv_im2col_f32_ref.c", "elementwise_f32_ref.c")
c_file("conv_im2col_f16_ref.c", "conv_im2col_f32_ref.c")
kernels("mf_conv2d", "conv_{dtype}_ref.c", needs=("elementwise_f32_ref.c",), sig=CONV_SIG)
kernels("mf_conv2d", "conv_f32_dsp.c", ("f32",), ("dsp",), ("conv_im2col_f32_ref.c", "gemm_f32_dsp.c"), _im2col_scratch,
        CONV_SCRATCH_SIG)
kernels("mf_conv2d", "conv_f16_rvv.c", ("f16",), ("rvv",), ("conv_im2col_f16_ref.c", "gemm_f16_rvv.c"), _im2col_scratch,
        CONV_SCRATCH_SIG)
kernels("mf_conv2d", "conv_f16_mve.c", ("f16",), ("mve",), ("conv_f16_ref.c", "conv_im2col_f16_ref.c", "gemm_f16_mve.c"),
        _im2col_scratch, CONV_SCRATCH_SIG)  # depthwise: the reference
kernels("mf_conv2d_overwrite", "conv_overwrite_f32_ref.c", ("f32",), needs=("conv_f32_ref.c", "conv_im2col_f32_ref.c"),
        scratch=_overwrite_scratch, sig=OVERWRITE_SIG)
kernels("mf_conv2d_overwrite", "conv_overwrite_f16_ref.c", ("f16",),
        needs=("conv_f16_ref.c", "conv_im2col_f16_ref.c", "conv_overwrite_f32_ref.c"), scratch=_overwrite_scratch,
        sig=OVERWRITE_SIG)
kernels("mf_conv2d_overwrite", "conv_overwrite_f32_dsp.c", ("f32",), ("dsp",),
        ("conv_f32_dsp.c", "conv_overwrite_f32_ref.c"), _overwrite_scratch, OVERWRITE_SIG)
kernels("mf_conv2d_overwrite", "conv_overwrite_f16_mve.c", ("f16",), ("mve",),
        ("conv_f16_mve.c", "conv_overwrite_f16_ref.c"), _overwrite_scratch, OVERWRITE_SIG)
kernels("mf_conv2d_overwrite", "conv_overwrite_f16_rvv.c", ("f16",), ("rvv",),
        ("conv_f16_rvv.c", "conv_overwrite_f32_ref.c"), _overwrite_scratch_rvv, OVERWRITE_SIG)
kernels("mf_conv2d_residual", "conv_residual_f32_ref.c", ("f32",), needs=("conv_im2col_f32_ref.c",),
        scratch=_residual_scratch, sig=RESIDUAL_SIG)
kernels("mf_conv2d_residual", "conv_residual_f32_dsp.c", ("f32",), ("dsp",), ("conv_residual_f32_ref.c", "gemm_f32_dsp.c"),
        _residual_scratch, RESIDUAL_SIG)
# FP32 vector convs (one file per ISA holds the im2col, residual and overwrite entry points) and
# the depthwise kernels the conv files dispatch to (mf_depthwise.h)
_F32_SIMD = ("conv_im2col_f32_ref.c", "gemm_f32_{isa}.c", "depthwise_f32_{isa}.c", "conv_overwrite_f32_ref.c",
             "conv_residual_f32_ref.c", "elementwise_f32_ref.c")
kernels("mf_conv2d", "conv_f32_{isa}.c", ("f32",), ("rvv", "mve"), _F32_SIMD, _im2col_scratch, CONV_SCRATCH_SIG)
kernels("mf_conv2d_overwrite", "conv_f32_{isa}.c", ("f32",), ("rvv", "mve"), _F32_SIMD, _overwrite_scratch, OVERWRITE_SIG)
kernels("mf_conv2d_residual", "conv_f32_{isa}.c", ("f32",), ("rvv", "mve"), _F32_SIMD, _residual_scratch, RESIDUAL_SIG)
kernels("mf_depthwise", "depthwise_ref.c", needs=("conv_{dtype}_ref.c", "conv_overwrite_{dtype}_ref.c"),
        sig=CONV_SCRATCH_SIG)
kernels("mf_depthwise", "depthwise_f32_dsp.c", ("f32",), ("dsp",), ("elementwise_f32_ref.c",), sig=CONV_SCRATCH_SIG)
kernels("mf_depthwise", "depthwise_{dtype}_{isa}.c", isas=("rvv", "mve"), needs=("elementwise_f32_ref.c",),
        sig=CONV_SCRATCH_SIG)
for _f, _dw in (("conv_f32_dsp.c", "depthwise_f32_dsp.c"), ("conv_overwrite_f32_dsp.c", "depthwise_f32_dsp.c"),
                ("conv_f16_rvv.c", "depthwise_f16_rvv.c"), ("conv_f16_mve.c", "depthwise_f16_mve.c"),
                ("conv_overwrite_f16_mve.c", "depthwise_f16_mve.c"), ("conv_overwrite_f16_rvv.c", "depthwise_f16_rvv.c")):
    c_file(_f, _dw)  # depthwise layers go to the depthwise kernels
# the depthwise kernels fall back to the reference conv (and its overwrite twin) on shapes
# they do not handle
c_file("depthwise_f32_dsp.c", "conv_f32_ref.c", "conv_overwrite_f32_ref.c")
c_file("depthwise_f16_rvv.c", "conv_f16_ref.c", "conv_overwrite_f16_ref.c", "conv_overwrite_f32_ref.c")
c_file("depthwise_f16_mve.c", "conv_overwrite_f16_ref.c", "conv_overwrite_f32_ref.c")
c_file("depthwise_f32_rvv.c", "conv_f32_ref.c", "conv_im2col_f32_ref.c", "conv_overwrite_f32_ref.c")
c_file("depthwise_f32_mve.c", "conv_f32_ref.c", "conv_im2col_f32_ref.c", "conv_overwrite_f32_ref.c")


# ---------------------------------------------------------------- backward
# Output pixels per im2col chunk of the SIMD backward (MF_BWD_COLS_<ISA>, mf_train.h; the two
# agree: tests/test_kernel_table.py).
BWD_COLS = {"ref": 8, "rvv": 16, "mve": 8}


def bwd_cols(isa: str) -> int:
    return BWD_COLS[isa]


@dataclass(frozen=True)
class ConvGradParams:
    conv: ConvParams  # act NONE: the activation's gradient is a separate ActGrad node
    x_shape: tuple[int, ...]
    w_shape: tuple[int, ...]
    y_shape: tuple[int, ...]
    want_w: bool = True
    want_b: bool = False

    def desc(self) -> Struct:
        return forward_desc(Conv, replace(self.conv, act=Act()), [("_x", self.x_shape), ("_w", self.w_shape)],
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
        return [p.call(bwd_kernel(ctx, "mf_conv2d_bwd_input"), args, ctx, node.inputs[0])]


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
        return [p.call(bwd_kernel(ctx, "mf_conv2d_bwd_weight"), args, ctx, node.inputs[0])]


@backward_rule('Conv')
def _conv_backward(b: Builder, n: Node, gy: str, need: set[str], train: set[str], wgrads: dict[str, str]) -> None:
    x, w = n.inputs[0], n.inputs[1]
    bias = n.inputs[2] if len(n.inputs) > 2 else ""
    if w in need or bias in need:
        raise unsupported(n, "runtime (computed) weights")
    g = act_grad(b, n, gy)
    p = ConvGradParams(n.params, b.shape(x), b.shape(w), b.shape(n.outputs[0]), w in train, bias in train)
    if p.want_w or p.want_b:
        shapes = ([p.w_shape] if p.want_w else []) + ([b.shape(bias)] if p.want_b else [])
        outs = b.add("ConvGradWeight", [x, g], shapes, p, n.origin, w)
        if p.want_w:
            wgrads[w] = outs.pop(0)
        if p.want_b:
            wgrads[bias] = outs.pop(0)
    if x in need:
        b.accumulate(x, b.add("ConvGradInput", [g, w], [p.x_shape], p, n.origin, x)[0])


# the backward kernels (mf_conv.h, with the forward ones); the SIMD ones take the im2col panel of ConvGradParams.scratch_bytes
_H = "mf_conv.h"
CONV_BWD_INPUT_SIG = Sig(_H, "const {t} *dy, const {t} *w, {t} *dx, const mf_conv2d_desc *d")
CONV_BWD_WEIGHT_SIG = Sig(_H, "const {t} *x, const {t} *dy, {t} *dw, {t} *db, const mf_conv2d_desc *d")
kernels("mf_conv2d_bwd_input", "conv_bwd_{dtype}_ref.c", sig=CONV_BWD_INPUT_SIG)
kernels("mf_conv2d_bwd_weight", "conv_bwd_{dtype}_ref.c", sig=CONV_BWD_WEIGHT_SIG)
kernels("mf_conv2d_bwd_input", "conv_bwd_{dtype}_{isa}.c", isas=("rvv", "mve"),
        needs=("conv_bwd_{dtype}_ref.c", "gemm_bwd_{dtype}_ref.c", "gemm_bwd_{dtype}_{isa}.c"),
        sig=Sig(_H, CONV_BWD_INPUT_SIG.params + ", {t} *scratch"))
kernels("mf_conv2d_bwd_weight", "conv_bwd_{dtype}_{isa}.c", isas=("rvv", "mve"),
        needs=("conv_bwd_{dtype}_ref.c", "gemm_bwd_{dtype}_ref.c", "gemm_bwd_{dtype}_{isa}.c"),
        sig=Sig(_H, CONV_BWD_WEIGHT_SIG.params + ", {t} *scratch"))
