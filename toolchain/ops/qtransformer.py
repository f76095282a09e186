"""Integer-only transformer ops (issue 15): int8 LayerNorm with an integer square root, a
256-entry table for element-wise functions of one int8 tensor (GELU, the attention scale
Mul), and the int8 MatMul of two activations (QK^T, AV). The frontend (frontend/quant_vit.py)
derives every constant here at compile time; the numpy references are bit-exact twins of
the C kernels (runtime_c/include/mf_int8_vit.h). Softmax is ops/qsoftmax.py's (a compile-time
exp table indexed by max - x, integer sum and division).

Tolerances against onnxruntime running the QDQ file as written (tests/test_qvit.py):
- QLut: 0 LSB; the table *is* onnxruntime's DQ -> op -> Q evaluated on all 256 inputs.
- QMatMul: <= 1 LSB; the integer accumulator is exact, only the Q31 requantisation's
  rounding can differ from the float product's.
- QLayerNorm: <= 1 LSB; the mean is exact (scaled by cols), the square root is exact to
  2^-30 and the normalised value is rounded to 2^-24, far below half an output LSB,
  except where the float value lies within that error of a rounding boundary.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from toolchain.errors import UnsupportedOpError
from toolchain.ir.graph import Graph, Node, Tensor
from toolchain.ops.base import Call, LowerCtx, Lit, Op, OutSpec, Struct, TensorArg, lit, register, struct
from toolchain.ops.kernel_table import Sig, helper, kernels
from toolchain.ops.requant import Requant, clamp_s8

LN_FRAC = 24  # MF_LAYERNORM_S8_FRAC
LN_MAX_COLS = 4096  # MF_LAYERNORM_S8_MAX_COLS: |d_i| < 2^21, so d_i * inv < 2^53


# ---------------------------------------------------------------- LayerNorm


@dataclass(frozen=True)
class QLayerNormParams:
    in_zp: int
    out_zp: int
    eps_q: int
    g_shift: int


def layernorm_constants(gamma: np.ndarray, beta: np.ndarray, eps: float, in_scale: float, out_scale: float,
                        out_zp: int, in_zp: int, cols: int) -> tuple[QLayerNormParams, np.ndarray, np.ndarray]:
    """(params, gamma_q int32, beta_q int32) of mf_layernorm_s8 for float gamma/beta."""
    if cols > LN_MAX_COLS:
        raise UnsupportedOpError(f"int8 LayerNorm over {cols} > {LN_MAX_COLS} values")
    g = np.asarray(gamma, np.float64).reshape(-1) * math.sqrt(cols) / out_scale
    b = np.asarray(beta, np.float64).reshape(-1) / out_scale
    g, b = np.broadcast_to(g, (cols,)), np.broadcast_to(b, (cols,))
    top = max(float(np.abs(g).max()), float(np.abs(b).max()), 2.0**-30)
    g_shift = int(min(30, 29 - math.ceil(math.log2(top))))  # both tables below 2^30
    if g_shift < 0:
        raise UnsupportedOpError("int8 LayerNorm: gamma/beta too large for the output scale")
    eps_q = int(round(eps * cols**3 / in_scale**2))
    eps_q = min(eps_q, 1 << 61)
    gq = np.round(g * 2.0**g_shift).astype(np.int32)
    bq = np.round(b * 2.0**g_shift).astype(np.int32)
    return QLayerNormParams(int(in_zp), int(out_zp), eps_q, g_shift), gq, bq


def layernorm_reference(x: np.ndarray, gq: np.ndarray, bq: np.ndarray, p: QLayerNormParams) -> np.ndarray:
    c = x.shape[-1]
    rows = x.reshape(-1, c).astype(np.int64) - p.in_zp
    s = rows.sum(axis=1, keepdims=True)
    d = c * rows - s
    out = np.empty(rows.shape, np.int8)
    for r in range(rows.shape[0]):
        v = max(int((d[r] * d[r]).sum()) + p.eps_q, 1)
        h = 0
        while (v << (2 * h)) < (1 << 60):
            h += 1
        den = math.isqrt(v << (2 * h))
        inv = (1 << 62) // den
        rs = 62 - LN_FRAC - h
        n = (d[r] * inv + (1 << (rs - 1))) >> rs
        acc = n * gq.astype(np.int64) + (bq.astype(np.int64) << LN_FRAC)
        sh = LN_FRAC + p.g_shift
        q = np.clip((acc + (1 << (sh - 1))) >> sh, -256, 256)
        out[r] = clamp_s8(q + p.out_zp)
    return out.reshape(x.shape)


@register
class QLayerNorm(Op):
    """inputs: x (int8, normalised over the last axis), gamma_q, beta_q (int32 constants)."""

    op_types = ("QLayerNorm",)
    internal = True
    inplace = True

    @classmethod
    def infer(cls, p: QLayerNormParams, ins: list[Tensor]) -> list[OutSpec]:
        return [OutSpec(ins[0].shape, ins[0].dtype)]

    @classmethod
    def reference(cls, p: QLayerNormParams, xs: list[np.ndarray]) -> list[np.ndarray]:
        return [layernorm_reference(xs[0], xs[1], xs[2], p)]

    @classmethod
    def macs(cls, p: QLayerNormParams, ins: list[Tensor], outs: list[Tensor]) -> int:
        return 3 * outs[0].size

    @classmethod
    def lower(cls, p: QLayerNormParams, node: Node, ctx: LowerCtx) -> list[Call]:
        s = ctx.shape(node.inputs[0])
        cols = s[-1]
        desc = struct("mf_layernorm_s8_desc", rows=lit(int(np.prod(s, dtype=np.int64)) // cols), cols=lit(cols),
                      in_zp=lit(p.in_zp), out_zp=lit(p.out_zp), eps_q=Lit(f"{p.eps_q}LL"), g_shift=lit(p.g_shift))
        return [Call(ctx.kernel("layernorm", "s8"), (TensorArg(node.inputs[0]), TensorArg(node.inputs[1]),
                                                     TensorArg(node.inputs[2]), TensorArg(node.outputs[0]), desc))]



# ---------------------------------------------------------------- lookup table


@dataclass(frozen=True)
class QLutParams:
    function: str  # the ONNX op the table holds (for the report)


@register
class QLut(Op):
    """inputs: x (int8), lut (256 int8 constants); y = lut[x + 128]."""

    op_types = ("QLut",)
    internal = True
    inplace = True

    @classmethod
    def infer(cls, p: QLutParams, ins: list[Tensor]) -> list[OutSpec]:
        return [OutSpec(ins[0].shape, ins[0].dtype)]

    @classmethod
    def reference(cls, p: QLutParams, xs: list[np.ndarray]) -> list[np.ndarray]:
        return [np.asarray(xs[1], np.int8)[xs[0].astype(np.int64) + 128]]

    @classmethod
    def lower(cls, p: QLutParams, node: Node, ctx: LowerCtx) -> list[Call]:
        n = int(np.prod(ctx.shape(node.inputs[0]), dtype=np.int64))
        return [Call(ctx.kernel("lut", "s8"), (TensorArg(node.inputs[0]), TensorArg(node.inputs[1]),
                                                   TensorArg(node.outputs[0]), lit(n)))]



# ---------------------------------------------------------------- MatMul of two activations


@dataclass(frozen=True)
class QMatMulParams:
    a_zp: int
    b_zp: int
    b_trans: bool  # B given as [..., n, k] (K read for K^T without a copy)
    rq: Requant


def matmul_dims(a: tuple[int, ...], b: tuple[int, ...], b_trans: bool) -> tuple[tuple[int, ...], int, int, int]:
    """(batch shape, m, n, k) of a batched int8 MatMul; the batch dims broadcast."""
    if len(a) < 2 or len(b) < 2:
        raise UnsupportedOpError("int8 MatMul of two activations needs rank >= 2 on both sides")
    m, k = a[-2], a[-1]
    n, kb = (b[-2], b[-1]) if b_trans else (b[-1], b[-2])
    if k != kb:
        raise UnsupportedOpError(f"int8 MatMul: inner dims {a} x {b} do not match")
    batch = tuple(np.broadcast_shapes(a[:-2], b[:-2]))
    return batch, m, n, k


@register
class QMatMul(Op):
    op_types = ("QMatMul",)
    internal = True

    @classmethod
    def infer(cls, p: QMatMulParams, ins: list[Tensor]) -> list[OutSpec]:
        batch, m, n, _ = matmul_dims(ins[0].shape, ins[1].shape, p.b_trans)
        return [OutSpec(batch + (m, n), ins[0].dtype)]

    @classmethod
    def reference(cls, p: QMatMulParams, xs: list[np.ndarray]) -> list[np.ndarray]:
        a = xs[0].astype(np.int64) - p.a_zp
        b = xs[1].astype(np.int64) - p.b_zp
        if p.b_trans:
            b = np.swapaxes(b, -1, -2)
        return [p.rq.apply(a @ b)]

    @classmethod
    def macs(cls, p: QMatMulParams, ins: list[Tensor], outs: list[Tensor]) -> int:
        return outs[0].size * (ins[0].shape[-1])

    @classmethod
    def lower(cls, p: QMatMulParams, node: Node, ctx: LowerCtx) -> list[Call]:
        desc = matmul_desc(p, ctx.shape(node.inputs[0]), ctx.shape(node.inputs[1]), node.name)
        return [Call(ctx.kernel("matmul", "s8"), (TensorArg(node.inputs[0]), TensorArg(node.inputs[1]),
                                                  TensorArg(node.outputs[0]), desc))]


def matmul_desc(p: QMatMulParams, ash: tuple[int, ...], bsh: tuple[int, ...], name: str, a_stride: int | None = None,
                b_stride: int | None = None, b_ld: int = 0) -> Struct:
    """mf_matmul_s8_desc of a QMatMul; the fused attention (ops/qattention.py) gives the head
    strides and B's row stride of its tokens layout (None, 0: dense)."""
    batch, m, n, k = matmul_dims(ash, bsh, p.b_trans)
    nb = int(np.prod(batch, dtype=np.int64))
    a_full = int(np.prod(ash[:-2], dtype=np.int64)) == nb
    b_full = int(np.prod(bsh[:-2], dtype=np.int64)) == nb
    if not (a_full or int(np.prod(ash[:-2], dtype=np.int64)) == 1) or \
            not (b_full or int(np.prod(bsh[:-2], dtype=np.int64)) == 1):
        raise UnsupportedOpError(f"int8 MatMul {name!r}: partial batch broadcasting {ash} x {bsh}")
    a_stride = (m * k if a_full else 0) if a_stride is None else a_stride
    b_stride = (n * k if b_full else 0) if b_stride is None else b_stride
    return struct("mf_matmul_s8_desc", batch=lit(nb), m=lit(m), n=lit(n), k=lit(k),
                  a_stride=lit(a_stride), b_stride=lit(b_stride),
                  b_trans=lit(int(p.b_trans)), a_zp=lit(p.a_zp), b_zp=lit(p.b_zp),
                  rq=struct("mf_requant_s8", **p.rq.struct_fields()), b_ld=lit(b_ld))


# ---------------------------------------------------------------- Mul of two activations


@dataclass(frozen=True)
class QMulParams:
    a_zp: int
    b_zp: int
    rq: Requant


@register
class QMul(Op):
    """y = rq((a - a_zp) * (b - b_zp)), element by element, a and b of one shape."""

    op_types = ("QMul",)
    internal = True

    @classmethod
    def infer(cls, p: QMulParams, ins: list[Tensor]) -> list[OutSpec]:
        return [OutSpec(ins[0].shape, ins[0].dtype)]

    @classmethod
    def reference(cls, p: QMulParams, xs: list[np.ndarray]) -> list[np.ndarray]:
        return [p.rq.apply((xs[0].astype(np.int64) - p.a_zp) * (xs[1].astype(np.int64) - p.b_zp))]

    @classmethod
    def lower(cls, p: QMulParams, node: Node, ctx: LowerCtx) -> list[Call]:
        n = int(np.prod(ctx.shape(node.inputs[0]), dtype=np.int64))
        desc = struct("mf_mul_s8_desc", n=lit(n), a_zp=lit(p.a_zp), b_zp=lit(p.b_zp),
                      rq=struct("mf_requant_s8", **p.rq.struct_fields()))
        return [Call(ctx.kernel("mul", "s8"), (TensorArg(node.inputs[0]), TensorArg(node.inputs[1]),
                                                   TensorArg(node.outputs[0]), desc))]

    @classmethod
    def alias_candidates(cls, p: QMulParams, node: Node, g: Graph) -> list[tuple[str, str]]:
        # a and b have one shape by construction (frontend/quant_vit.py); the check keeps
        # a broadcast operand from ever lending a smaller buffer to the output
        out = g.tensors[node.outputs[0]]
        return [(x, "inplace") for x in node.inputs[:2]
                if not g.tensors[x].is_const and g.tensors[x].shape == out.shape]


# ---------------------------------------------------------------- Add of a broadcast row


@register
class QAddRow(Op):
    """inputs: x (int8, [..., n]), row (int8 constant, n values); QAdd of x and the row
    broadcast over x's rows (ops/qelementwise.py's constants and kernel, row by row)."""

    op_types = ("QAddRow",)
    internal = True
    inplace = True

    @classmethod
    def infer(cls, p, ins: list[Tensor]) -> list[OutSpec]:  # noqa: ANN001 - QAddParams
        return [OutSpec(ins[0].shape, ins[0].dtype)]

    @classmethod
    def reference(cls, p, xs: list[np.ndarray]) -> list[np.ndarray]:  # noqa: ANN001
        from toolchain.ops.qelementwise import QAdd

        n = xs[1].size
        rows = xs[0].reshape(-1, n)
        y = QAdd.reference(p, [rows, np.broadcast_to(xs[1].reshape(1, n), rows.shape)])[0]
        return [y.reshape(xs[0].shape)]

    @classmethod
    def lower(cls, p, node: Node, ctx: LowerCtx) -> list[Call]:  # noqa: ANN001
        from toolchain.ops.qelementwise import QAdd

        n = int(np.prod(ctx.shape(node.inputs[1]), dtype=np.int64))
        rows = int(np.prod(ctx.shape(node.inputs[0]), dtype=np.int64)) // n
        return [Call(ctx.kernel("add_row", "s8"), (TensorArg(node.inputs[0]), TensorArg(node.inputs[1]),
                                                       TensorArg(node.outputs[0]), lit(rows), QAdd.desc(p, n)))]



def row_of(c_shape: tuple[int, ...], shape: tuple[int, ...]) -> int:
    """The row length when a constant of c_shape broadcasts over shape as one repeated
    row (it matches shape's trailing dims, only 1s before), else 0."""
    c = (1,) * (len(shape) - len(c_shape)) + tuple(c_shape)
    for k in range(len(shape) + 1):
        if all(v == 1 for v in c[:k]) and tuple(c[k:]) == tuple(shape[k:]):
            return int(np.prod(shape[k:], dtype=np.int64)) if int(np.prod(shape[:k], dtype=np.int64)) > 1 else 0
    return 0


# the kernel table (ops/kernel_table.py): this family's kernels and their C signatures
# (declared in mf_int8_vit.h by `make protos`)
H = "mf_int8_vit.h"
LN_SIG = Sig(H, "const int8_t *x, const int32_t *gamma, const int32_t *beta, int8_t *y, const mf_layernorm_s8_desc *d")
MATMUL_SIG = Sig(H, "const int8_t *a, const int8_t *b, int8_t *y, const mf_matmul_s8_desc *d")
kernels("mf_layernorm", "qnorm_s8_ref.c", ("s8",), sig=LN_SIG)
kernels("mf_layernorm", "qnorm_s8_{isa}.c", ("s8",), ("dsp", "mve", "rvv"), needs=("qnorm_s8_ref.c",), sig=LN_SIG)
helper("mf_isqrt_u64", "qnorm_s8_ref.c", sig=Sig(H, "uint64_t v", "uint32_t"))
LUT_SIG = Sig(H, "const int8_t *x, const int8_t *lut, int8_t *y, int32_t n")
kernels("mf_lut", "qlut_s8_ref.c", ("s8",), sig=LUT_SIG)
kernels("mf_lut", "qlut_s8_{isa}.c", ("s8",), ("dsp", "mve", "rvv"), sig=LUT_SIG)
kernels("mf_matmul", "qmatmul_s8_ref.c", ("s8",), sig=MATMUL_SIG)
kernels("mf_matmul", "qmatmul_s8_{isa}.c", ("s8",), ("dsp", "mve", "rvv"), sig=MATMUL_SIG)
MUL_SIG = Sig(H, "const int8_t *a, const int8_t *b, int8_t *y, const mf_mul_s8_desc *d")
ADD_ROW_SIG = Sig(H, "const int8_t *x, const int8_t *row, int8_t *y, int32_t rows, const mf_add_s8_desc *d")
kernels("mf_mul", "qmul_s8_ref.c", ("s8",), sig=MUL_SIG)
kernels("mf_mul", "qmul_s8_{isa}.c", ("s8",), ("dsp", "mve", "rvv"), needs=("qmul_s8_ref.c",), sig=MUL_SIG)
kernels("mf_add_row", "qadd_row_s8_ref.c", ("s8",), needs=("quant_s8_ref.c",), sig=ADD_ROW_SIG)
# beside mf_add_s8_<isa> (ops/qelementwise.py), whose per-element core they share
kernels("mf_add_row", "qadd_s8_{isa}.c", ("s8",), ("dsp", "mve", "rvv"), needs=("qadd_row_s8_ref.c",), sig=ADD_ROW_SIG)
