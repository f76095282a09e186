"""StreamIn: a model's first op fed with the image a band of rows at a time (mf_model_run_rows),
so the whole input never has to be in RAM. Built by passes/stream.py, never in an ONNX file.

The first op is the patch-embedding conv (PatchEmbed: stride = kernel, one patch row per band)
or a first Conv / int8 QConv (one output row per band of (kernel_h - 1) * dilation_h + 1 rows;
the band moves down by the stride, keeping the rows two output rows share). An NHWC input whose
Transpose to NCHW feeds the first op is transposed row by row into the band.

Each step runs the first op's own kernel (the board's SIMD variant where it has one) on the
band, with a descriptor for a one-output-row image and top/bottom padding taken out (rows
outside the image are in the band as the pad value, the int8 input zero point for QConv), so
every output element is computed by the same code as on the whole image: bit for bit equal.
The band, one image row, a conv output row and the kernel's own scratch are the node's
scratch, planned in the arena; the streamed input has no buffer (memory/lifetimes.py).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from toolchain.ir.graph import DType, Node, Tensor
from toolchain.ops.base import (
    Array, Call, Lit, LowerCtx, Op, OutSpec, REGISTRY, Scratch, TensorArg, align_up, int_array, lit, register,
    struct,
)
from toolchain.ops.kernel_table import Sig, kernels

# element type of the streamed input -> the band kernels' dtype suffix
BAND_DTYPES = {DType.FLOAT32: "f32", DType.INT8: "s8", DType.UINT8: "u8"}
STREAM_OPS = ("PatchEmbed", "Conv", "QConv")  # first ops that can read a band


@dataclass(frozen=True)
class StepTensorArg(TensorArg):
    """A tensor pointer that moves `step` elements per band step (the generated loop's
    mf_step): where band step r writes its output rows, or reads its position embedding."""

    step: int = 0


@dataclass(frozen=True)
class StreamParams:
    inner: str  # the first op's type (one of STREAM_OPS)
    params: Any  # its params, on the whole image
    image: tuple[int, int, int]  # c, h, w of the image as the first op reads it (NCHW)
    nhwc: bool  # the model input is [1, h, w, c]: rows come channel-interleaved
    band_h: int  # image rows one step reads
    stride: int  # rows the band moves down per step
    pad_top: int  # rows above the image the first band starts at
    pad: int  # value of rows outside the image (the int8 input zero point, else 0)
    steps: int  # output rows (patch rows)
    from_u8: bool = False  # a uint8 image: the band holds it minus 128, as the int8 first op reads it
    to_f16: bool = False  # an FP16 build: float rows, rounded to FP16 as they enter the band

    def band_dtype(self, x: DType) -> DType:
        """What the band holds: what the first op reads."""
        return DType.INT8 if self.from_u8 else DType.FLOAT16 if self.to_f16 else x

    @property
    def tail_calls(self) -> int:
        """Calls after the band loop: the class-token row of a patch embedding."""
        return int(self.inner == "PatchEmbed" and self.params.has_cls)


@register
class StreamIn(Op):
    op_types = ("StreamIn",)
    internal = True
    streams_input = True  # input 0 has no arena buffer: it arrives by rows (memory/lifetimes.py)

    @staticmethod
    def _nchw(p: StreamParams, x: Tensor) -> Tensor:
        c, h, w = p.image
        return Tensor(x.name, (1, c, h, w), p.band_dtype(x.dtype), quant=x.quant)

    @classmethod
    def infer(cls, p: StreamParams, ins: list[Tensor]) -> list[OutSpec]:
        return REGISTRY.get(p.inner).infer(p.params, [cls._nchw(p, ins[0])] + ins[1:])

    @classmethod
    def reference(cls, p: StreamParams, xs: list[np.ndarray]) -> list[np.ndarray]:
        x = (xs[0].astype(np.int16) - 128).astype(np.int8) if p.from_u8 else xs[0]
        x = x.astype(np.float16) if p.to_f16 else x
        x = np.ascontiguousarray(np.transpose(x, (0, 3, 1, 2))) if p.nhwc else x
        return REGISTRY.get(p.inner).reference(p.params, [x] + xs[1:])

    @classmethod
    def macs(cls, p: StreamParams, ins: list[Tensor], outs: list[Tensor]) -> int:
        return REGISTRY.get(p.inner).macs(p.params, [cls._nchw(p, ins[0])] + ins[1:], outs)

    @classmethod
    def lower(cls, p: StreamParams, node: Node, ctx: LowerCtx) -> list[Call]:
        x = ctx.tensors[node.inputs[0]]
        y = ctx.tensors[node.outputs[0]]
        c, h, w = p.image
        elem = x.dtype.itemsize
        band = Tensor("#band", (1, c, p.band_h, w), p.band_dtype(x.dtype), quant=x.quant)
        tensors = dict(ctx.tensors)
        tensors[band.name] = band
        consts = list(node.inputs[1:])
        if p.inner == "PatchEmbed":
            wp, d = p.params.grid[1], p.params.dim
            inner_p = replace(p.params, grid=(1, wp), has_cls=False)
            first = int(p.params.has_cls) * d
            pos = consts[3] if len(consts) > 3 else ""
            inner = Node(node.name, "PatchEmbed", [band.name] + consts[:2] + ["", pos], [y.name], inner_p)
            moves = {y.name: StepTensorArg(y.name, first, wp * d)}
            if pos:
                moves[pos] = StepTensorArg(pos, first, wp * d)
            out_row = None
        else:
            win = p.params.win
            inner_p = replace(p.params, win=replace(win, pads=(0, win.pads[1], 0, win.pads[3])))
            oc, oh, ow = y.shape[1], y.shape[2], y.shape[3]
            out_row = Tensor("#out_row", (1, oc, 1, ow), y.dtype, quant=y.quant)
            tensors[out_row.name] = out_row
            inner = Node(node.name, p.inner, [band.name] + consts, [out_row.name], inner_p)
            moves = {}
        sub = LowerCtx(tensors, ctx.target, ctx.available, overwritten=frozenset())
        calls = REGISTRY.get(p.inner).lower(inner_p, inner, sub)
        # the node's scratch: [kernel scratch][band][one image row][conv output row]
        k_bytes = align_up(max((cl.scratch_bytes for cl in calls), default=0))
        band_at = k_bytes
        row_at = band_at + align_up(band.nbytes)
        out_at = row_at + align_up(c * w * elem)
        total = out_at + (align_up(out_row.nbytes) if out_row is not None else 0)
        where = {band.name: Scratch(band_at)}
        if out_row is not None:
            where[out_row.name] = Scratch(out_at)

        def move(a: object) -> object:
            if isinstance(a, TensorArg) and a.name in where:
                return where[a.name]
            if isinstance(a, TensorArg) and a.name in moves:
                return moves[a.name]
            return a

        desc = struct("mf_band_desc", c=lit(c), h=lit(h), w=lit(w), band_h=lit(p.band_h), stride=lit(p.stride),
                      pad_top=lit(p.pad_top), nhwc=lit(p.nhwc), pad=lit(p.pad))
        out = [Call(f"mf_band_advance_{'f16' if p.to_f16 else BAND_DTYPES[x.dtype]}_ref",
                    (Lit("next_row"), Lit("user"), Lit("mf_step"), Scratch(row_at), Scratch(band_at), desc), total)]
        out += [Call(cl.kernel, tuple(move(a) for a in cl.args), total) for cl in calls]
        if out_row is not None:  # the output row into row mf_step of each output channel
            copy = struct("mf_copy_desc", rank=lit(2), shape=int_array([oc, ow]), in_stride=int_array([ow, 1]),
                          out_stride=int_array([oh * ow, 1]), index=Array((Lit("NULL"),) * 8), in_offset=lit(0),
                          out_offset=lit(0), fill=lit(0.0))
            dt = {DType.INT8: "s8", DType.FLOAT16: "f16"}.get(y.dtype, "f32")
            out.append(Call(f"mf_copy_{dt}_ref", (Scratch(out_at), StepTensorArg(y.name, 0, ow), copy), total))
        if p.tail_calls:
            cls_t = consts[2] if len(consts) > 2 else ""
            pos = consts[3] if len(consts) > 3 else ""
            out.append(Call(f"mf_stream_cls_{'f16' if p.to_f16 else 'f32'}_ref", (TensorArg(cls_t) if cls_t else Lit("NULL"),
                                                      TensorArg(pos) if pos else Lit("NULL"), TensorArg(y.name),
                                                      lit(p.params.dim)), total))
        return out


# the kernel table: the band mover per input element type (its rows, its band), the class-token row
_H = "mf_stream.h"
_BAND = "void *user, int32_t step, {row} *row, {band} *band, const mf_band_desc *d"
kernels("mf_band_advance", "stream_{dtype}_ref.c", ("f32", "f16", "s8", "u8"), sig={
    dt: Sig(_H, f"mf_row_{fn}_fn next_row, " + _BAND.format(row=row, band=band))
    for dt, fn, row, band in (("f32", "f32", "float", "float"), ("f16", "f32", "float", "mf_f16"),
                              ("s8", "s8", "int8_t", "int8_t"), ("u8", "u8", "uint8_t", "int8_t"))})
kernels("mf_stream_cls", "stream_{dtype}_ref.c", ("f32", "f16"),
        sig=Sig(_H, "const {t} *cls, const {t} *pos, {t} *out, int32_t dim"))
