"""PatchStage: the first convolutions of a CNN run band by band (MCUNetV2's patch-based
inference), so their large feature maps never exist whole. Built by passes/patch.py, never in
an ONNX file.

The stage is a chain of 2-D convolutions (dense, depthwise, pointwise; BN and the activation
already folded into each), float (Conv: FP32, FP16) or int8 (QConv: the zero-point padding and
the requantisation stay inside the family's kernels). Its output is computed `rows` output
rows at a time over the full width (row bands: the image arrives by rows when it is streamed,
so a band of rows is what is there anyway). For each band, every layer's input rows are
derived backwards from the rows the next layer needs, clipped to the tensor: the halo rows two
bands share are computed twice (the recompute the report gives in MACs), and each layer runs
the family's own kernel (the board's SIMD variant where it has one) on a small contiguous
[c][rows][w] tensor whose descriptor keeps only the padding rows the band really touches
(pad_top; the bottom padding follows from h_out). With the reference kernels every output
element comes out of the same arithmetic as on the whole map (bit for bit); a SIMD kernel that
picks its loop order by the plane's shape (the M7 depthwise) sums some in another order. The
first layer's band is a strided copy of the input's rows, or, with a streamed input
(PatchStageRows), filled from the caller's rows by mf_patch_rows; the last layer's band is
copied into its rows of the stage output.

The node's scratch, planned in the arena: [kernel scratch][one image row][first band][two
band buffers the layers ping-pong between], each sized by its largest band.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

import numpy as np

from toolchain.ir.graph import DType, Node, Tensor
from toolchain.ops.base import (
    Array, Call, Lit, LowerCtx, Op, OutSpec, REGISTRY, Scratch, TensorArg, align_up, int_array, lit, register,
    struct,
)
from toolchain.ops.kernel_table import Sig, kernels

# element type of the stage's maps -> kernel dtype suffix
STAGE_DTYPES = {DType.FLOAT32: "f32", DType.FLOAT16: "f16", DType.INT8: "s8"}
STAGE_OPS = ("Conv", "QConv")  # what a stage's layers may be: float convs, int8 convs


@dataclass(frozen=True)
class PatchLayer:
    """One conv of the stage, on the whole map."""

    op: str  # "Conv" (float) or "QConv" (int8, zero-point padding and requantisation inside)
    params: Any  # ConvParams or QConvParams: both have .win and lower through their family
    x_shape: tuple[int, int, int, int]  # 1, c_in, h, w
    w_shape: tuple[int, ...]  # c_out, c_in / group, k_h, k_w
    bias: bool
    name: str  # the node it was (reports, generated comments)

    @property
    def out_shape(self) -> tuple[int, int, int, int]:
        oh, ow = self.params.win.out_size(self.x_shape[2], self.x_shape[3])
        return (1, self.w_shape[0], oh, ow)

    @property
    def macs_per_out(self) -> int:
        return int(np.prod(self.w_shape[1:]))


@dataclass(frozen=True)
class Band:
    """One layer within one band: input rows [a, b) of its map, the padding rows above and
    below them the kernel sees, and the output rows [o0, o1) they give."""

    a: int
    b: int
    pad_top: int
    pad_bottom: int
    o0: int
    o1: int


@dataclass(frozen=True)
class PatchParams:
    layers: tuple[PatchLayer, ...]
    rows: int  # stage output rows per band
    image: tuple[int, int, int] | None = None  # c, h, w of a streamed image (PatchStageRows)
    nhwc: bool = False  # streamed rows come [w][c]
    to_f16: bool = False  # an FP16 build: float rows, rounded once into the FP16 band
    from_u8: bool = False  # a uint8 image: the int8 band holds it minus 128 (exact)

    @cached_property
    def bands(self) -> tuple[tuple[Band, ...], ...]:
        """Per band, per layer (first to last): the rows it reads and writes."""
        out = []
        h_last = self.layers[-1].out_shape[2]
        for o0 in range(0, h_last, self.rows):
            lo_, hi_ = o0, min(o0 + self.rows, h_last)
            per = []
            for lay in reversed(self.layers):
                win = lay.params.win
                span = (win.kernel[0] - 1) * win.dilations[0] + 1
                lo = lo_ * win.strides[0] - win.pads[0]
                hi = (hi_ - 1) * win.strides[0] - win.pads[0] + span
                a, b = max(lo, 0), min(hi, lay.x_shape[2])
                per.append(Band(a, b, a - lo, hi - b, lo_, hi_))
                lo_, hi_ = a, b
            out.append(tuple(reversed(per)))
        return tuple(out)

    @property
    def steps(self) -> int:
        return len(self.bands)

    @property
    def band_h(self) -> int:
        """The largest first-layer band, in input rows."""
        return max(s[0].b - s[0].a for s in self.bands)

    @property
    def stride(self) -> int:
        """Input rows the band moves down per step (away from the edges)."""
        return self.rows * int(np.prod([lay.params.win.strides[0] for lay in self.layers]))

    @property
    def full_macs(self) -> int:
        """MACs of the layers run op by op, on whole maps."""
        return sum(int(np.prod(lay.out_shape)) * lay.macs_per_out for lay in self.layers)

    @property
    def banded_macs(self) -> int:
        """MACs the bands execute: the halo rows are computed once per band that needs them."""
        return sum((bd.o1 - bd.o0) * lay.out_shape[3] * lay.out_shape[1] * lay.macs_per_out
                   for step in self.bands for bd, lay in zip(step, self.layers))

    def const_slices(self) -> list[slice]:
        """Where each layer's weight (and bias) are among the node's inputs."""
        out, at = [], 1
        for lay in self.layers:
            n = 2 if lay.bias else 1
            out.append(slice(at, at + n))
            at += n
        return out


def _band_tensor(name: str, c: int, rows: int, w: int, dtype: DType) -> Tensor:
    return Tensor(name, (1, c, rows, w), dtype)


def _copy_desc(shape: list[int], in_stride: list[int], out_stride: list[int]):  # noqa: ANN202
    return struct("mf_copy_desc", rank=lit(len(shape)), shape=int_array(shape), in_stride=int_array(in_stride),
                  out_stride=int_array(out_stride), index=Array((Lit("NULL"),) * 8), in_offset=lit(0),
                  out_offset=lit(0), fill=lit(0.0))


@register
class PatchStage(Op):
    op_types = ("PatchStage",)
    internal = True

    @classmethod
    def infer(cls, p: PatchParams, ins: list[Tensor]) -> list[OutSpec]:
        dtype = DType.FLOAT16 if p.to_f16 else DType.INT8 if p.from_u8 else ins[0].dtype
        return [OutSpec(p.layers[-1].out_shape, dtype)]

    @classmethod
    def reference(cls, p: PatchParams, xs: list[np.ndarray]) -> list[np.ndarray]:
        x = xs[0].astype(np.float16) if p.to_f16 else xs[0]
        x = np.ascontiguousarray(np.transpose(x, (0, 3, 1, 2))) if p.nhwc else x
        x = (x.astype(np.int16) - 128).astype(np.int8) if p.from_u8 else x
        for lay, sl in zip(p.layers, p.const_slices()):
            x = REGISTRY.get(lay.op).reference(lay.params, [x] + list(xs[sl]))[0]
        return [x]

    @classmethod
    def macs(cls, p: PatchParams, ins: list[Tensor], outs: list[Tensor]) -> int:
        return p.banded_macs

    @classmethod
    def lower(cls, p: PatchParams, node: Node, ctx: LowerCtx) -> list[Call]:
        x = ctx.tensors[node.inputs[0]]
        y = ctx.tensors[node.outputs[0]]
        dt, elem = STAGE_DTYPES[y.dtype], y.dtype.itemsize
        slices = p.const_slices()
        # 1. every layer of every band through the conv family's own lowering, on band tensors
        inner: list[list[list[Call]]] = []
        for step in p.bands:
            per = []
            for lay, bd, sl in zip(p.layers, step, slices):
                c_in, w_in = lay.x_shape[1], lay.x_shape[3]
                c_out, w_out = lay.out_shape[1], lay.out_shape[3]
                win = lay.params.win
                bp = replace(lay.params, win=replace(win, pads=(bd.pad_top, win.pads[1], bd.pad_bottom, win.pads[3])))
                tensors = dict(ctx.tensors)
                tensors["#in"] = _band_tensor("#in", c_in, bd.b - bd.a, w_in, y.dtype)
                tensors["#out"] = _band_tensor("#out", c_out, bd.o1 - bd.o0, w_out, y.dtype)
                n = Node(lay.name, lay.op, ["#in"] + node.inputs[sl], ["#out"], bp)
                sub = LowerCtx(tensors, ctx.target, ctx.available, overwritten=frozenset())
                per.append(REGISTRY.get(lay.op).lower(bp, n, sub))
            inner.append(per)
        # 2. the scratch layout: [kernel][image row][first band][ping][pong]
        k_bytes = align_up(max((c.scratch_bytes for s in inner for cs in s for c in cs), default=0))
        c0, h0, w0 = p.layers[0].x_shape[1:]
        row_bytes = align_up(c0 * w0 * x.dtype.itemsize) if p.image is not None else 0  # rows as the input has them
        band0 = align_up(max(s[0].b - s[0].a for s in p.bands) * c0 * w0 * elem)
        pingpong = [0, 0]
        for li, lay in enumerate(p.layers):
            rows = max(s[li].o1 - s[li].o0 for s in p.bands)
            pingpong[li % 2] = max(pingpong[li % 2], align_up(rows * lay.out_shape[1] * lay.out_shape[3] * elem))
        row_at = k_bytes
        band_at = row_at + row_bytes
        buf_at = (band_at + band0, band_at + band0 + pingpong[0])
        total = buf_at[1] + pingpong[1]

        def at(li: int, what: str) -> int:
            if what == "#in":
                return band_at if li == 0 else buf_at[(li - 1) % 2]
            return buf_at[li % 2]

        out: list[Call] = []
        prev = (0, 0)
        c_last, h_last, w_last = p.layers[-1].out_shape[1:]
        for step, per in zip(p.bands, inner):
            a, b = step[0].a, step[0].b
            if p.image is not None:  # the image's new rows into the first band
                desc = struct("mf_patch_rows_desc", c=lit(c0), h=lit(h0), w=lit(w0), nhwc=lit(p.nhwc),
                              prev_a=lit(prev[0]), prev_b=lit(prev[1]), a=lit(a), b=lit(b))
                rows_dt = "u8" if p.from_u8 else dt
                out.append(Call(f"mf_patch_rows_{rows_dt}_ref", (Lit("next_row"), Lit("user"), Scratch(row_at),
                                                               Scratch(band_at), desc), total))
                prev = (a, b)
            else:  # rows [a, b) of every channel of the whole input
                desc = _copy_desc([c0, b - a, w0], [h0 * w0, w0, 1], [(b - a) * w0, w0, 1])
                out.append(Call(f"mf_copy_{dt}_ref", (TensorArg(x.name, a * w0), Scratch(band_at), desc), total))
            for li, calls in enumerate(per):
                where = {"#in": Scratch(at(li, "#in")), "#out": Scratch(at(li, "#out"))}
                for cl in calls:
                    args = tuple(where[a_.name] if isinstance(a_, TensorArg) and a_.name in where
                                 else a_ for a_ in cl.args)
                    out.append(Call(cl.kernel, args, total))
            last = step[-1]
            rows = last.o1 - last.o0
            desc = _copy_desc([c_last, rows, w_last], [rows * w_last, w_last, 1], [h_last * w_last, w_last, 1])
            out.append(Call(f"mf_copy_{dt}_ref", (Scratch(at(len(p.layers) - 1, "#out")),
                                                  TensorArg(y.name, last.o0 * w_last), desc), total))
        return out


@register
class PatchStageRows(PatchStage):
    """The stage reading a streamed image (mf_model_run_rows): input 0 has no buffer."""

    op_types = ("PatchStageRows",)
    streams_input = True  # memory/lifetimes.py, memory/checker.py


# the kernel table: the first band's rows from the caller's image rows, per band type (f16:
# float rows into an FP16 band; u8: uint8 rows into an int8 band)
_ROWS = "mf_row_{fn}_fn next_row, void *user, {row} *row, {band} *band, const mf_patch_rows_desc *d"
kernels("mf_patch_rows", "patch_{dtype}_ref.c", ("f32", "f16", "s8", "u8"), sig={
    dt: Sig("mf_patch.h", _ROWS.format(fn=fn, row=row, band=band))
    for dt, fn, row, band in (("f32", "f32", "float", "float"), ("f16", "f32", "float", "mf_f16"),
                              ("s8", "s8", "int8_t", "int8_t"), ("u8", "u8", "uint8_t", "int8_t"))})
