"""Fused int8 attention (issue 15), MCUFormer's schedule in integers: the op-by-op chain
QMatMul (Q x K^T) -> [QLut (the scale Mul)] -> QSoftmax -> QMatMul (x V) holds every head's
N x N scores at once (the 240x240 ViT's arena peak); this op runs the same four kernels per
head on blocks of query rows, so only `block` rows of scores exist, in scratch, and the
output is the chain's bit for bit (passes/qattention.py builds it; mf_int8_vit.h).

The block is a planner choice (Op.blocks): the smallest block's scratch sets the arena, and
the planner takes the largest block whose scratch still fits under it (fewer, longer calls).

Two layouts. "heads": q, k, v and y as the chain had them, [1, heads, tokens, d] (K^T as
[1, heads, d, tokens] when the QK^T MatMul read it so). "tokens": q, k, v are the projections'
[1, tokens, heads, d] (the Reshapes before the exporters' head Transposes) and y is
[1, tokens, heads, dv] (the output Transpose's): the kernel reads each head in place through
row strides, so the four head Transposes and their copies are gone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from toolchain.ir.graph import Graph, Node, Tensor
from toolchain.ops.base import REGISTRY, Call, IntArray, LowerCtx, Lit, Op, OutSpec, Scratch, TensorArg, lit, register
from toolchain.ops.base import struct
from toolchain.ops.kernel_table import Sig, helper, kernels
from toolchain.ops.qsoftmax import QSoftmax, QSoftmaxParams
from toolchain.ops.qtransformer import QMatMul, QMatMulParams, matmul_desc, matmul_dims

# Query rows per block the kernel may run (capped at the query count). 8 rows of a 226-key
# attention is 1,808 B of scratch; larger blocks only cut the number of calls.
BLOCK_ROWS = (8, 16, 32, 64)


@dataclass(frozen=True)
class QAttentionParams:
    qk: QMatMulParams
    softmax: QSoftmaxParams
    av: QMatMulParams
    has_lut: bool  # a QLut (e.g. the exporters' scale Mul) between the scores and the softmax
    tokens: bool = False  # the "tokens" layout (above); then qk.b_trans: K as [tokens][d]


def scratch_bytes(block: int, n_kv: int, strided_rows: int = 0) -> int:
    """Twin of mf_attention_s8_scratch_bytes: one block of score rows, and in the tokens
    layout one block of q or y rows (strided_rows = max(d, dv))."""
    return block * (n_kv + strided_rows)


def _heads(x: tuple[int, ...]) -> tuple[int, ...]:
    """[1, tokens, heads, d] -> [1, heads, tokens, d]."""
    return (x[0], x[2], x[1], x[3])


def _dims(p: QAttentionParams, q: tuple[int, ...], k: tuple[int, ...], v: tuple[int, ...]):
    if p.tokens:
        q, k, v = _heads(q), _heads(k), _heads(v)
    batch, m, n, _ = matmul_dims(q, k, p.qk.b_trans)
    scores = batch + (m, n)
    return scores, matmul_dims(scores, v, p.av.b_trans)


def _view_root(g: Graph, t: str) -> str:
    """The tensor whose bytes t is, through view ops (Reshape...)."""
    prod = {o: n for n in g.nodes for o in n.outputs}
    while t in prod and REGISTRY.get(prod[t].op_type).view:
        t = prod[t].inputs[0]
    return t


@register
class QAttention(Op):
    """inputs: q, k (as the QK^T QMatMul reads it), v, lut (256 int8 constants, or "")."""

    op_types = ("QAttention",)
    internal = True

    @classmethod
    def infer(cls, p: QAttentionParams, ins: list[Tensor]) -> list[OutSpec]:
        _, (batch, m, n, _) = _dims(p, ins[0].shape, ins[1].shape, ins[2].shape)
        y = batch + (m, n)
        return [OutSpec(_heads(y) if p.tokens else y, ins[0].dtype)]

    @classmethod
    def reference(cls, p: QAttentionParams, xs: list[np.ndarray]) -> list[np.ndarray]:
        q, k, v = (np.swapaxes(x, 1, 2) for x in xs[:3]) if p.tokens else xs[:3]
        s = QMatMul.reference(p.qk, [q, k])[0]
        if p.has_lut:
            s = np.asarray(xs[3], np.int8)[s.astype(np.int64) + 128]
        s = QSoftmax.reference(p.softmax, [s])[0]
        y = QMatMul.reference(p.av, [s, v])[0]
        return [np.ascontiguousarray(np.swapaxes(y, 1, 2)) if p.tokens else y]

    @classmethod
    def macs(cls, p: QAttentionParams, ins: list[Tensor], outs: list[Tensor]) -> int:
        scores, (batch, m, n, k) = _dims(p, ins[0].shape, ins[1].shape, ins[2].shape)
        return int(np.prod(scores, dtype=np.int64)) * (ins[0].shape[-1] + n)

    @classmethod
    def blocks(cls, p: QAttentionParams, node: Node, ctx: LowerCtx) -> tuple[int, ...]:
        m = ctx.shape(node.inputs[0])[1 if p.tokens else -2]
        return tuple(sorted({min(b, m) for b in BLOCK_ROWS}))

    @classmethod
    def lower(cls, p: QAttentionParams, node: Node, ctx: LowerCtx) -> list[Call]:
        q, k, v = (ctx.shape(x) for x in node.inputs[:3])
        scores, (_, _, dv, _) = _dims(p, q, k, v)
        n_kv = scores[-1]
        block = ctx.block(node, cls.blocks(p, node, ctx))
        sm = p.softmax
        smd = struct("mf_softmax_s8_desc", rows=lit(block), cols=lit(n_kv), lut=IntArray(sm.lut),
                     out_mult=lit(sm.out_mult), out_shift=lit(sm.out_shift), out_zp=lit(sm.out_zp))
        if p.tokens:
            # heads side by side in each token's row: a head starts d elements into it
            heads, dk = q[2], q[3]
            qk = matmul_desc(p.qk, _heads(q), _heads(k), node.name, a_stride=dk, b_stride=dk, b_ld=heads * dk)
            av = matmul_desc(p.av, scores, _heads(v), node.name, a_stride=0, b_stride=dv, b_ld=heads * dv)
            desc = struct("mf_attention_s8_desc", block=lit(block), qk=qk, sm=smd, av=av, q_ld=lit(heads * dk),
                          y_ld=lit(heads * dv), y_stride=lit(dv))
            scratch = scratch_bytes(block, n_kv, max(dk, dv) if heads > 1 else 0)  # one head: dense rows
        else:
            desc = struct("mf_attention_s8_desc", block=lit(block), qk=matmul_desc(p.qk, q, k, node.name), sm=smd,
                          av=matmul_desc(p.av, scores, v, node.name), q_ld=lit(0), y_ld=lit(0), y_stride=lit(0))
            scratch = scratch_bytes(block, n_kv)
        lut = TensorArg(node.inputs[3]) if p.has_lut else Lit("NULL")
        # the ISA of the MatMuls: the chain's own choice (ctx.kernel("matmul")), so the
        # fused op runs the same kernels as the op-by-op graph would
        isa = ctx.isa_of(ctx.kernel("matmul", "s8"))
        return [Call(ctx.kernel("attention", "s8", (isa,)),
                     (TensorArg(node.inputs[0]), TensorArg(node.inputs[1]), TensorArg(node.inputs[2]), lut,
                      TensorArg(node.outputs[0]), desc, Scratch()),
                     scratch)]

    @classmethod
    def alias_candidates(cls, p: QAttentionParams, node: Node, g: Graph) -> list[tuple[str, str]]:
        # y's rows of a block are q's rows of that block, read (by the scores) before the
        # block writes them, and never read again: y may take q's memory when the shapes
        # agree, unless k or v are q's bytes too (self-attention on one tensor, or views of
        # one buffer), which later blocks still read
        q, y = g.tensors[node.inputs[0]], g.tensors[node.outputs[0]]
        if q.is_const or q.shape != y.shape:
            return []
        roots = [_view_root(g, t) for t in node.inputs[:3]]
        return [] if roots[0] in roots[1:] else [(node.inputs[0], "inplace")]


# the kernel table (ops/kernel_table.py); prototypes in mf_int8_vit.h (`make protos`)
H = "mf_int8_vit.h"
ATTENTION_SIG = Sig(H, "const int8_t *q, const int8_t *k, const int8_t *v, const int8_t *lut, int8_t *y, "
                       "const mf_attention_s8_desc *d, int8_t *scratch")
kernels("mf_attention", "qattention_s8_ref.c", ("s8",), needs=("qmatmul_s8_ref.c", "qlut_s8_ref.c",
                                                                 "softmax_s8_ref.c"), sig=ATTENTION_SIG)
kernels("mf_attention", "qattention_s8_{isa}.c", ("s8",), ("dsp", "mve", "rvv"),
        needs=("qmatmul_s8_{isa}.c", "qlut_s8_{isa}.c", "softmax_s8_{isa}.c"), sig=ATTENTION_SIG)
helper("mf_attention_s8_scratch_bytes", "qattention_s8_ref.c",
       needs=("qmatmul_s8_ref.c", "qlut_s8_ref.c", "softmax_s8_ref.c"),
       sig=Sig(H, "const mf_attention_s8_desc *d", "int32_t"))
