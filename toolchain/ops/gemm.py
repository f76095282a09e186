"""Gemm and MatMul (batched, broadcast), one kernel with bias and activation epilogue."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from toolchain.ir.graph import Node, Tensor
from toolchain.ops.base import (
    Attrs, Call, LowerCtx, Lit, Op, OutSpec, TensorArg, broadcast_shape, broadcast_strides,
    collapse, int_array, lit, register, strides_of, struct,
)
from toolchain.ops.elementwise import Act, act_grad, apply_act, torch_act
from toolchain.ops.grad import Builder, TrainOp, backward_rule, bwd_kernel, unsupported
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
    def torch_ref(cls, p: GemmParams, xs: list, torch: Any) -> list:
        a, w, c = xs[0], xs[1], xs[2] if len(xs) > 2 else None
        if p.matmul:
            y = torch.matmul(a, w) * p.alpha
        else:
            y = p.alpha * ((a.T if p.trans_a else a) @ (w.T if p.trans_b else w))
        if c is not None:
            y = y + p.beta * c
        return [torch_act(p, y, torch)]

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


# ---------------------------------------------------------------- backward

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
        return [Call(bwd_kernel(ctx, "mf_gemm_bwd_input"), (TensorArg(node.inputs[0]), TensorArg(node.inputs[1]),
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
        return [Call(bwd_kernel(ctx, "mf_gemm_bwd_weight"), (TensorArg(node.inputs[0]), TensorArg(node.inputs[1]),
                                                   dw, dc, desc))]


def _gemm_geometry(b: Builder, n: Node):
    p = n.params
    a, w = b.shape(n.inputs[0]), b.shape(n.inputs[1])
    if p.matmul:
        if len(a) < 2 or len(w) < 2:
            raise unsupported(n, "1-D MatMul operands")
        a2, b2, _ = matmul_shapes(a, w)
        m, k, nn = a2[-2], a2[-1], b2[-1]
        batch = broadcast_shape(a2[:-2], b2[:-2])
        sa = tuple(s * m * k for s in broadcast_strides(a2[:-2], batch))
        sb = tuple(s * k * nn for s in broadcast_strides(b2[:-2], batch))
        sy = tuple(s * m * nn for s in strides_of(batch))
        return m, k, nn, batch, sa, sb, sy, (k, 1), (nn, 1)
    m, k = (a[1], a[0]) if p.trans_a else (a[0], a[1])
    nn = w[0] if p.trans_b else w[1]
    return m, k, nn, (), (), (), (), ((1, m) if p.trans_a else (k, 1)), ((1, k) if p.trans_b else (nn, 1))


def _full_batch(batch: tuple[int, ...], strides: tuple[int, ...]) -> bool:
    return all(s != 0 or d == 1 for d, s in zip(batch, strides))


@backward_rule('Gemm', 'MatMul')
def _gemm_backward(b: Builder, n: Node, gy: str, need: set[str], train: set[str], wgrads: dict[str, str]) -> None:
    p = n.params
    a, w = n.inputs[0], n.inputs[1]
    c = n.inputs[2] if len(n.inputs) > 2 else ""
    if c in need or (a in train):
        raise unsupported(n, "gradient of a runtime bias or a constant left operand")
    m, k, nn, batch, sa, sb, sy, (a_rs, a_cs), (b_rs, b_cs) = _gemm_geometry(b, n)
    g = act_grad(b, n, gy)
    want_w, want_c = w in train, c in train
    if want_w or want_c:
        if not all(s == 0 or d == 1 for d, s in zip(batch, sb)) or not _full_batch(batch, sa):
            raise unsupported(n, "a trained weight must be 2-D against a full-batch input")
        rows = int(np.prod(batch, dtype=np.int64)) * m
        cs = b.shape(c) if c else ()
        c_rs, c_cs = (broadcast_strides(cs, (m, nn))[-2:] if cs else (0, 0)) if c else (0, 0)
        w_ks, w_ns = b_rs, b_cs
        gp = GemmGradWeightParams(rows, m, nn, k, a_rs, a_cs, w_ks, w_ns, b.shape(w), cs, c_rs, c_cs,
                                  p.alpha, p.beta, want_w, want_c)
        shapes = ([gp.w_shape] if want_w else []) + ([cs] if want_c else [])
        outs = b.add("GemmGradWeight", [a, g], shapes, gp, n.origin, w)
        if want_w:
            wgrads[w] = outs.pop(0)
        if want_c:
            wgrads[c] = outs.pop(0)
    if a in need:
        if not _full_batch(batch, sa):
            raise unsupported(n, "gradient of a batch-broadcast left operand")
        gp = GemmGradInputParams(batch, sy, sb, sa, m, nn, k, nn, 1, b_rs, b_cs, a_rs, a_cs, p.alpha, b.shape(a))
        b.accumulate(a, b.add("GemmGradInput", [g, w], [gp.out_shape], gp, n.origin, a)[0])
    if w in need:
        if not _full_batch(batch, sb):
            raise unsupported(n, "gradient of a batch-broadcast right operand")
        # dB is the left-operand gradient of the transposed problem Y^T = B^T A^T
        gp = GemmGradInputParams(batch, sy, sa, sb, nn, m, k, 1, nn, a_cs, a_rs, b_cs, b_rs, p.alpha, b.shape(w))
        b.accumulate(w, b.add("GemmGradInput", [g, a], [gp.out_shape], gp, n.origin, w)[0])


GEMM_BWD_INPUT_SIG = Sig("mf_gemm.h", "const {t} *dy, const {t} *w, {t} *dx, const mf_gemm_bwd_input_desc *d")
GEMM_BWD_WEIGHT_SIG = Sig("mf_gemm.h", "const {t} *a, const {t} *dy, {t} *dw, {t} *dc, const mf_gemm_bwd_weight_desc *d")
kernels("mf_gemm_bwd_input", "gemm_bwd_{dtype}_ref.c", sig=GEMM_BWD_INPUT_SIG)
kernels("mf_gemm_bwd_weight", "gemm_bwd_{dtype}_ref.c", sig=GEMM_BWD_WEIGHT_SIG)
kernels("mf_gemm_bwd_input", "gemm_bwd_{dtype}_{isa}.c", isas=("rvv", "mve"), needs=("gemm_bwd_{dtype}_ref.c",),
        sig=GEMM_BWD_INPUT_SIG)
kernels("mf_gemm_bwd_weight", "gemm_bwd_{dtype}_{isa}.c", isas=("rvv", "mve"), needs=("gemm_bwd_{dtype}_ref.c",),
        sig=GEMM_BWD_WEIGHT_SIG)
