"""Gemm and MatMul (batched, broadcast), one kernel with bias and activation epilogue."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from toolchain.ir.graph import Node, Tensor
from toolchain.ops.base import (
    Attrs, Call, LowerCtx, Lit, Op, OutSpec, TensorArg, broadcast_shape, broadcast_strides,
    collapse, int_array, lit, register, struct,
)
from toolchain.ops.elementwise import Act, apply_act
from toolchain.ops.kernel_table import Sig, c_file, kernels

MAX_BATCH_RANK = 6


@dataclass(frozen=True)
class GemmParams:
    trans_a: bool = False
    trans_b: bool = False
    alpha: float = 1.0
    beta: float = 1.0
    matmul: bool = False  # numpy matmul semantics (1-D promotion, batch broadcast)
    act: Act = Act()


def matmul_shapes(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """(a as >=2-D, b as >=2-D, output shape) under numpy matmul rules."""
    a2 = (1,) + a if len(a) == 1 else a
    b2 = b + (1,) if len(b) == 1 else b
    batch = broadcast_shape(a2[:-2], b2[:-2])
    out = batch + (a2[-2], b2[-1])
    if len(a) == 1:
        out = out[:-2] + out[-1:]
    if len(b) == 1:
        out = out[:-1]
    return a2, b2, out


@register
class Gemm(Op):
    op_types = ("Gemm", "MatMul")

    @classmethod
    def parse(cls, attrs: Attrs, ins: list[Tensor | None], opset: int) -> GemmParams:
        if attrs.op_type == "MatMul":
            return GemmParams(matmul=True, beta=1.0)
        return GemmParams(bool(attrs.int("transA", 0)), bool(attrs.int("transB", 0)),
                          attrs.float("alpha", 1.0), attrs.float("beta", 1.0))

    @classmethod
    def infer(cls, p: GemmParams, ins: list[Tensor]) -> list[OutSpec]:
        a, b = ins[0].shape, ins[1].shape
        if p.matmul:
            a2, b2, out = matmul_shapes(a, b)
            if a2[-1] != b2[-2]:
                raise ValueError(f"MatMul inner dims differ: {a} x {b}")
            return [OutSpec(out, ins[0].dtype)]
        m = a[1] if p.trans_a else a[0]
        n = b[0] if p.trans_b else b[1]
        return [OutSpec((m, n), ins[0].dtype)]

    @classmethod
    def reference(cls, p: GemmParams, xs: list[np.ndarray]) -> list[np.ndarray]:
        a, b = xs[0].astype(np.float64), xs[1].astype(np.float64)
        if p.matmul:
            y = np.matmul(a, b) * p.alpha
        else:
            y = p.alpha * ((a.T if p.trans_a else a) @ (b.T if p.trans_b else b))
        if len(xs) > 2 and xs[2] is not None:
            y = y + p.beta * xs[2]
        return [apply_act(p.act, y.astype(xs[0].dtype))]

    @classmethod
    def macs(cls, p: GemmParams, ins: list[Tensor], outs: list[Tensor]) -> int:
        a = ins[0].shape
        k = a[-1] if p.matmul else (a[0] if p.trans_a else a[1])
        return outs[0].size * k

    @classmethod
    def lower(cls, p: GemmParams, node: Node, ctx: LowerCtx) -> list[Call]:
        a, b = ctx.shape(node.inputs[0]), ctx.shape(node.inputs[1])
        if p.matmul:
            a2, b2, _ = matmul_shapes(a, b)
            m, k, n = a2[-2], a2[-1], b2[-1]
            batch = broadcast_shape(a2[:-2], b2[:-2])
            sa = [s * m * k for s in broadcast_strides(a2[:-2], batch)] if batch else []
            sb = [s * k * n for s in broadcast_strides(b2[:-2], batch)] if batch else []
            sy = [s * m * n for s in broadcast_strides(batch, batch)] if batch else []
            if batch:
                batch_l, (sa, sb, _) = collapse(batch, sa, sb, sy)
                if batch_l == [1]:
                    batch_l, sa, sb = [], [], []
            else:
                batch_l = []
            a_rs, a_cs, b_rs, b_cs = k, 1, n, 1
        else:
            m, k = (a[1], a[0]) if p.trans_a else (a[0], a[1])
            n = b[0] if p.trans_b else b[1]
            batch_l, sa, sb = [], [], []
            a_rs, a_cs = (1, m) if p.trans_a else (k, 1)
            b_rs, b_cs = (1, k) if p.trans_b else (n, 1)
        if len(batch_l) > MAX_BATCH_RANK:
            raise ValueError(f"node {node.name!r}: batch rank {len(batch_l)} > {MAX_BATCH_RANK}")
        has_c = len(node.inputs) > 2 and bool(node.inputs[2])
        c_rs = c_cs = 0
        if has_c:
            c_rs, c_cs = broadcast_strides(ctx.shape(node.inputs[2]), (m, n))[-2:] if ctx.shape(node.inputs[2]) else (0, 0)
        desc = struct(
            "mf_gemm_desc", batch_rank=lit(len(batch_l)),
            batch_shape=int_array(batch_l, MAX_BATCH_RANK), a_bstride=int_array(sa, MAX_BATCH_RANK),
            b_bstride=int_array(sb, MAX_BATCH_RANK), m=lit(m), n=lit(n), k=lit(k),
            a_rs=lit(a_rs), a_cs=lit(a_cs), b_rs=lit(b_rs), b_cs=lit(b_cs),
            c_rs=lit(c_rs), c_cs=lit(c_cs), alpha=lit(p.alpha), beta=lit(p.beta), act=p.act.struct())
        c = TensorArg(node.inputs[2]) if has_c else Lit("NULL")
        return [Call(ctx.kernel("gemm"), (TensorArg(node.inputs[0]), TensorArg(node.inputs[1]), c,
                                        TensorArg(node.outputs[0]), desc))]


# ---------------------------------------------------------------- kernel table
GEMM_SIG = Sig("mf_gemm.h", "const {t} *a, const {t} *b, const {t} *c, {t} *y, const mf_gemm_desc *d")
kernels("mf_gemm", "gemm_{dtype}_ref.c", needs=("elementwise_f32_ref.c",), sig=GEMM_SIG)
kernels("mf_gemm", "gemm_f32_dsp.c", ("f32",), ("dsp",), ("elementwise_f32_ref.c",), sig=GEMM_SIG)
kernels("mf_gemm", "gemm_f16_{isa}.c", ("f16",), ("rvv", "mve"), ("gemm_f16_ref.c",), sig=GEMM_SIG)
kernels("mf_gemm", "gemm_f32_{isa}.c", ("f32",), ("rvv", "mve"), ("gemm_by_panel_f32.c",), sig=GEMM_SIG)
c_file("gemm_by_panel_f32.c", "gemm_f32_ref.c", "elementwise_f32_ref.c")
