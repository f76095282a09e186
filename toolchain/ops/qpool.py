"""int8 AveragePool / GlobalAveragePool / MaxPool (2-D and 1-D, NCHW).

Average: acc = sum(x - in_zp) over the window, one requantisation by
in_scale / (out_scale * window), ties to even as QuantizeLinear of the float average (a
power-of-two window makes exact ties common) -- a constant divisor, so windows hanging over padding are
only accepted with count_include_pad (frontend/quant.py says so otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from toolchain.ir.graph import Node, Tensor
from toolchain.ops.base import Call, LowerCtx, Op, OutSpec, TensorArg, lit, register, struct
from toolchain.ops.conv import Window, hw, out_shape
from toolchain.ops.requant import Requant
from toolchain.ops.kernel_table import Sig, kernels


@dataclass(frozen=True)
class QPoolParams:
    win: Window
    is_max: bool
    in_zp: int
    rq: Requant


@register
class QPool(Op):
    op_types = ("QAveragePool", "QMaxPool")
    internal = True

    @classmethod
    def infer(cls, p: QPoolParams, ins: list[Tensor]) -> list[OutSpec]:
        x = ins[0]
        oh, ow = p.win.out_size(*hw(x.shape))
        return [OutSpec(out_shape(x.shape[0], x.shape[1], p.win, oh, ow), x.dtype)]

    @classmethod
    def reference(cls, p: QPoolParams, xs: list[np.ndarray]) -> list[np.ndarray]:
        x = xs[0]
        x4 = x[:, :, None, :] if x.ndim == 3 else x
        n, c, h, w = x4.shape
        oh, ow = p.win.out_size(h, w)
        (kh, kw), (sh, sw) = p.win.kernel, p.win.strides
        pt, pl, pb, pr = p.win.pads
        if p.is_max:
            xp = np.pad(x4.astype(np.int64), ((0, 0), (0, 0), (pt, pb), (pl, pr)), constant_values=-129)
        else:
            xp = np.pad(x4.astype(np.int64) - p.in_zp, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
        acc = np.full((n, c, oh, ow), -129 if p.is_max else 0, np.int64)
        for i in range(kh):
            for j in range(kw):
                win = xp[:, :, i: i + sh * (oh - 1) + 1: sh, j: j + sw * (ow - 1) + 1: sw]
                acc = np.maximum(acc, win) if p.is_max else acc + win
        if p.is_max:
            acc = acc - p.in_zp
        y = p.rq.apply(acc, ties_even=not p.is_max)  # the average rounds ties to even
        return [y[:, :, 0, :] if x.ndim == 3 else y]

    @classmethod
    def lower(cls, p: QPoolParams, node: Node, ctx: LowerCtx) -> list[Call]:
        xs = ctx.shape(node.inputs[0])
        h, w = hw(xs)
        oh, ow = p.win.out_size(h, w)
        desc = struct("mf_pool_s8_desc", n=lit(xs[0]), c=lit(xs[1]), h_in=lit(h), w_in=lit(w), h_out=lit(oh),
                      w_out=lit(ow), k_h=lit(p.win.kernel[0]), k_w=lit(p.win.kernel[1]),
                      stride_h=lit(p.win.strides[0]), stride_w=lit(p.win.strides[1]),
                      pad_top=lit(p.win.pads[0]), pad_left=lit(p.win.pads[1]), in_zp=lit(p.in_zp),
                      rq=struct("mf_requant_s8", **p.rq.struct_fields()))
        op = "maxpool" if p.is_max else "avgpool"
        # global averages vectorised (SMLAD pairs, VADDVA, vwredsum), no scratch; max pools on the reference
        isas = ("dsp", "mve", "rvv") if op == "avgpool" else ()
        return [Call(ctx.kernel(op, "s8", isas), (TensorArg(node.inputs[0]), TensorArg(node.outputs[0]), desc))]


# the kernel table (ops/kernel_table.py): the int8 reference kernels of this family
POOL_S8_SIG = Sig("mf_int8.h", "const int8_t *x, int8_t *y, const mf_pool_s8_desc *d")
kernels("mf_avgpool", "pool_s8_ref.c", ("s8",), sig=POOL_S8_SIG)
kernels("mf_maxpool", "pool_s8_ref.c", ("s8",), sig=POOL_S8_SIG)
# Helium and RVV: the global average vectorised, other windows through the reference
# (the DSP one is registered in ops/int8_kernels.py)
kernels("mf_avgpool", "pool_s8_{isa}.c", ("s8",), ("mve", "rvv"), needs=("pool_s8_ref.c",), sig=POOL_S8_SIG)
