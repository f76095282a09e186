"""Integrated transformer ops (MCUFormer's operator integration). Never in an ONNX file: the
passes in toolchain/passes/integrate.py build them from the exporters' op-by-op graphs.

- TokenChain: per-token LayerNorm / linear / activation steps, optional residual; one token
  at a time through a two-row scratch, output written over its input row when it fits.
- FusedAttention: multi-head attention one query row and one head at a time.
- PatchEmbed: the patch-embedding conv, patch row by patch row, into token-major rows with the
  class token and position embedding, optionally over the input it consumes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from toolchain.ir.graph import Graph, Node, Tensor
from toolchain.ops.base import (
    Array, Call, LowerCtx, Lit, Op, OutSpec, Scratch, TensorArg, lit, register, struct,
)
from toolchain.ops.elementwise import Act, apply_act
from toolchain.ops.kernel_table import Sig, kernels

MAX_STEPS = 8
# Tokens a blocked token chain runs together, and query rows per attention block, that the
# planner may choose from (toolchain/memory/blocking.py), per kernel ISA: multiples of the
# kernels' register tile height (dsp 4x4, the FP16 GEMM panels: rvv 8 rows, mve 3 rows). A
# full tile reuses each weight it loads that many times; a block of 1 never (but needs the
# least scratch).
TOKEN_BLOCKS = {"dsp": (1, 2, 4), "rvv": (1, 4, 8), "mve": (1, 3, 6)}
ATTENTION_ROWS = {"dsp": (1, 4), "rvv": (1, 8), "mve": (1, 3, 6)}
SIMD_ISAS = ("rvv", "mve")
DSP_ROW_DH = 16  # MF_ATTENTION_ROW_DH of transformer_f32_dsp.c: head dims its query-row path takes


def _elem(ctx: LowerCtx) -> int:
    """Bytes of one element of the kernels' type (scratch is counted in elements)."""
    return 2 if ctx.target.dtype == "f16" else 4


def _opt(name: str) -> TensorArg | Lit:
    return TensorArg(name) if name else Lit("NULL")


@dataclass(frozen=True)
class Step:
    kind: str  # "LINEAR" | "LAYERNORM" | "ACT"
    in_w: int
    out_w: int
    w: str = ""
    b: str = ""
    gamma: str = ""
    beta: str = ""
    eps: float = 0.0
    act: Act = Act()


@dataclass(frozen=True)
class TokenChainParams:
    steps: tuple[Step, ...]
    residual: bool  # inputs[1] is added to the chain's result


def _row(x: np.ndarray, st: Step, consts: dict[str, np.ndarray]) -> np.ndarray:
    v = x.astype(np.float64)
    if st.kind == "LINEAR":
        v = v @ consts[st.w].astype(np.float64)
        if st.b:
            v = v + consts[st.b]
        return apply_act(st.act, v.astype(np.float32))
    if st.kind == "LAYERNORM":
        mean = v.mean(axis=-1, keepdims=True)
        var = ((v - mean) ** 2).mean(axis=-1, keepdims=True)
        v = (v - mean) / np.sqrt(var + st.eps)
        if st.gamma:
            v = v * consts[st.gamma]
        if st.beta:
            v = v + consts[st.beta]
        return v.astype(np.float32)
    return apply_act(st.act, x)


@register
class TokenChain(Op):
    op_types = ("TokenChain",)
    internal = True

    @classmethod
    def infer(cls, p: TokenChainParams, ins: list[Tensor]) -> list[OutSpec]:
        return [OutSpec(ins[0].shape[:-1] + (p.steps[-1].out_w,), ins[0].dtype)]

    @classmethod
    def reference(cls, p: TokenChainParams, xs: list[np.ndarray]) -> list[np.ndarray]:
        raise NotImplementedError  # needs the constants by name: see run_reference

    @classmethod
    def run_reference(cls, p: TokenChainParams, node: Node, env: dict[str, np.ndarray]) -> np.ndarray:
        v = env[node.inputs[0]]
        for st in p.steps:
            v = _row(v, st, env)
        if p.residual:
            v = (v + env[node.inputs[1]]).astype(np.float32)
        return v

    @classmethod
    def macs(cls, p: TokenChainParams, ins: list[Tensor], outs: list[Tensor]) -> int:
        tokens = ins[0].size // p.steps[0].in_w
        return tokens * sum(s.in_w * s.out_w if s.kind == "LINEAR" else 2 * s.in_w for s in p.steps)

    @classmethod
    def scratch_floats(cls, p: TokenChainParams, block: int = 1) -> int:
        """Twin of mf_token_chain_scratch_floats."""
        return 2 * max(block, 1) * max(max(s.in_w, s.out_w) for s in p.steps)

    @classmethod
    def lower(cls, p: TokenChainParams, node: Node, ctx: LowerCtx) -> list[Call]:
        tokens = int(np.prod(ctx.shape(node.inputs[0])[:-1], dtype=np.int64))
        kernel = ctx.kernel("token_chain")
        block = ctx.block(node, cls.blocks(p, node, ctx))
        sfx = "" if ctx.target.dtype == "f32" else f"_{ctx.target.dtype}"  # FP16 steps point at FP16 weights
        steps = []
        for s in p.steps:
            steps.append(struct(f"mf_token_step{sfx}", kind=lit(f"MF_STEP_{s.kind}"), in_w=lit(s.in_w), out_w=lit(s.out_w),
                                w=_opt(s.w), b=_opt(s.b), gamma=_opt(s.gamma), beta=_opt(s.beta), eps=lit(s.eps),
                                act=s.act.struct()))
        filler = struct(f"mf_token_step{sfx}", kind=lit("MF_STEP_ACT"), in_w=lit(0), out_w=lit(0))
        desc = struct(f"mf_token_chain_desc{sfx}", tokens=lit(tokens), n_steps=lit(len(steps)),
                      steps=Array(tuple(steps) + (filler,) * (MAX_STEPS - len(steps))), block=lit(block))
        residual = TensorArg(node.inputs[1]) if p.residual else Lit("NULL")
        return [Call(kernel, (TensorArg(node.inputs[0]), residual, TensorArg(node.outputs[0]), Scratch(), desc),
                     _elem(ctx) * cls.scratch_floats(p, block))]

    @classmethod
    def blocks(cls, p: TokenChainParams, node: Node, ctx: LowerCtx) -> tuple[int, ...]:
        sizes = TOKEN_BLOCKS.get(ctx.isa_of(ctx.kernel("token_chain")), ())
        tokens = int(np.prod(ctx.shape(node.inputs[0])[:-1], dtype=np.int64))
        return tuple(sorted({min(b, tokens) for b in sizes}))

    @classmethod
    def alias_candidates(cls, p: TokenChainParams, node: Node, g: Graph) -> list[tuple[str, str]]:
        if p.residual:
            return [(node.inputs[1], "inplace")]
        return [(node.inputs[0], "overwrite")]

    @classmethod
    def overwrite_ok(cls, p: TokenChainParams, node: Node, g: Graph) -> bool:
        # Row i of the output lands at or before row i of the input: never on an unread row.
        return p.steps[-1].out_w <= p.steps[0].in_w


@dataclass(frozen=True)
class AttentionParams:
    heads: int
    dh: int
    scale: float
    # Where Q, K and V are read (added for exporters' layouts; the defaults keep the original
    # contract: three token-major (B, N, heads * dh) inputs). Row r, head h of Q starts at
    # element offsets[0] + r * strides[0] + h * dh of input 0 (K, V: inputs 1, 2), e.g. one
    # fused qkv tensor read three times. 0 strides mean heads * dh; n_q/n_kv 0 mean the
    # inputs' dim 1; out_shape () means q's shape with heads * dh last.
    n_q: int = 0
    n_kv: int = 0
    offsets: tuple[int, int, int] = (0, 0, 0)
    strides: tuple[int, int, int] = (0, 0, 0)
    out_shape: tuple[int, ...] = ()
    # input 3 is a constant added to the scaled scores, shape (heads or 1, n_q, n_kv)
    has_bias: bool = False
    batch: int = 0  # 0: input 0's dim 0 (or 1 when n_q is given); batch b starts b * n * stride later


def attention_layout(p: AttentionParams, ins: list) -> tuple[int, int, int, tuple[int, int, int]]:
    """(batch, n_q, n_kv, strides) of an attention over inputs of these shapes."""
    width = p.heads * p.dh
    q, k = ins[0].shape, ins[1].shape
    n_q = p.n_q or q[1]
    n_kv = p.n_kv or k[1]
    batch = p.batch or (q[0] if not p.n_q else 1)
    return batch, n_q, n_kv, tuple(s or width for s in p.strides)


@register
class FusedAttention(Op):
    op_types = ("FusedAttention",)
    internal = True

    @classmethod
    def infer(cls, p: AttentionParams, ins: list[Tensor]) -> list[OutSpec]:
        if p.out_shape:
            return [OutSpec(p.out_shape, ins[0].dtype)]
        q = ins[0].shape
        return [OutSpec(q[:-1] + (p.heads * p.dh,), ins[0].dtype)]

    @classmethod
    def reference(cls, p: AttentionParams, xs: list[np.ndarray]) -> list[np.ndarray]:
        batch, n_q, n_kv, strides = attention_layout(p, xs)
        width = p.heads * p.dh

        def rows(x: np.ndarray, i: int, n: int) -> np.ndarray:  # (batch, heads, n, dh)
            idx = (p.offsets[i] + np.arange(batch)[:, None, None] * n * strides[i]
                   + np.arange(n)[None, :, None] * strides[i] + np.arange(width)[None, None, :])
            t = x.reshape(-1)[idx].astype(np.float64)
            return t.reshape(batch, n, p.heads, p.dh).transpose(0, 2, 1, 3)

        q, k, v = rows(xs[0], 0, n_q), rows(xs[1], 1, n_kv), rows(xs[2], 2, n_kv)
        s = q @ k.transpose(0, 1, 3, 2) * p.scale
        if p.has_bias:
            s = s + xs[3].astype(np.float64).reshape(1, -1, n_q, n_kv)
        s = np.exp(s - s.max(axis=-1, keepdims=True))
        s = s / s.sum(axis=-1, keepdims=True)
        o = (s @ v).transpose(0, 2, 1, 3).reshape(batch, n_q, width)
        shape = p.out_shape or xs[0].shape[:-1] + (width,)
        return [o.reshape(shape).astype(xs[0].dtype)]

    @classmethod
    def macs(cls, p: AttentionParams, ins: list[Tensor], outs: list[Tensor]) -> int:
        b, nq, nk, _ = attention_layout(p, ins)
        return 2 * b * p.heads * nq * nk * p.dh

    @classmethod
    def lower(cls, p: AttentionParams, node: Node, ctx: LowerCtx) -> list[Call]:
        batch, n_q, n_kv, (qs, ks, vs) = attention_layout(p, [ctx.tensors[i] for i in node.inputs])
        width = p.heads * p.dh
        kernel = ctx.kernel("attention_bias" if p.has_bias else "attention")
        rows = ctx.block(node, cls.blocks(p, node, ctx))
        k_panel = int(ctx.isa_of(kernel) in SIMD_ISAS)
        desc = struct("mf_attention_desc", batch=lit(batch), n_q=lit(n_q), n_kv=lit(n_kv), heads=lit(p.heads),
                      dh=lit(p.dh), q_stride=lit(qs), k_stride=lit(ks), v_stride=lit(vs),
                      out_stride=lit(width), scale=lit(p.scale), q_block=lit(rows), k_panel=lit(k_panel))
        qkv = tuple(TensorArg(i, off) for i, off in zip(node.inputs[:3], p.offsets))
        scratch = _elem(ctx) * cls.scratch_floats(rows, n_kv, p.dh, k_panel)
        if p.has_bias:
            heads = ctx.shape(node.inputs[3])[0]
            return [Call(kernel, qkv + (TensorArg(node.inputs[3]), lit(heads), TensorArg(node.outputs[0]), Scratch(),
                                        desc), scratch)]
        return [Call(kernel, qkv + (TensorArg(node.outputs[0]), Scratch(), desc), scratch)]

    @classmethod
    def blocks(cls, p: AttentionParams, node: Node, ctx: LowerCtx) -> tuple[int, ...]:
        isa = ctx.isa_of(ctx.kernel("attention_bias" if p.has_bias else "attention"))
        if isa == "dsp" and p.dh <= DSP_ROW_DH:
            return (1,)  # the M4/M7 kernel takes its query-row path there whatever the block
        sizes = ATTENTION_ROWS.get(isa, ())
        n_q = attention_layout(p, [ctx.tensors[i] for i in node.inputs])[1]
        return tuple(sorted({min(b, n_q) for b in sizes}))

    @classmethod
    def scratch_floats(cls, rows: int, n_kv: int, dh: int, k_panel: int = 0) -> int:
        """Twin of mf_attention_scratch_floats (elements of the kernel's type)."""
        return max(rows, 1) * n_kv + dh + k_panel * n_kv * dh

    @classmethod
    def alias_candidates(cls, p: AttentionParams, node: Node, g: Graph) -> list[tuple[str, str]]:
        q = node.inputs[0]
        width = p.heads * p.dh
        # The output's (row, head) block is written after q's same block is consumed: only
        # when q is laid out exactly like the output and nothing else is read from it.
        same = (p.offsets[0] == 0 and p.strides[0] in (0, width) and g.tensors[q].size == g.tensors[node.outputs[0]].size)
        return [(q, "inplace")] if same and q not in node.inputs[1:3] else []


@dataclass(frozen=True)
class PatchEmbedParams:
    patch: tuple[int, int]
    dim: int
    grid: tuple[int, int]  # patches per column, per row
    has_cls: bool


@register
class PatchEmbed(Op):
    op_types = ("PatchEmbed",)
    internal = True

    @classmethod
    def infer(cls, p: PatchEmbedParams, ins: list[Tensor]) -> list[OutSpec]:
        n = p.grid[0] * p.grid[1] + int(p.has_cls)
        return [OutSpec((ins[0].shape[0], n, p.dim), ins[0].dtype)]

    @classmethod
    def reference(cls, p: PatchEmbedParams, xs: list[np.ndarray]) -> list[np.ndarray]:
        x, w, b, cls_tok, pos = (xs + [None] * 5)[:5]
        n, c, h, wd = x.shape
        (ph, pw), (hp, wp) = p.patch, p.grid
        patches = x.reshape(n, c, hp, ph, wp, pw).transpose(0, 2, 4, 1, 3, 5).reshape(n, hp * wp, c * ph * pw)
        t = patches.astype(np.float64) @ w.reshape(p.dim, -1).T.astype(np.float64)
        if b is not None:
            t = t + b
        if p.has_cls:
            t = np.concatenate([np.broadcast_to(cls_tok.reshape(1, 1, -1), (n, 1, p.dim)), t], axis=1)
        if pos is not None:
            t = t + pos.reshape(1, -1, p.dim)
        return [t.astype(x.dtype)]

    @classmethod
    def macs(cls, p: PatchEmbedParams, ins: list[Tensor], outs: list[Tensor]) -> int:
        return p.grid[0] * p.grid[1] * p.dim * int(np.prod(ins[1].shape[1:]))

    @classmethod
    def lower(cls, p: PatchEmbedParams, node: Node, ctx: LowerCtx) -> list[Call]:
        n, c, h, w = ctx.shape(node.inputs[0])
        desc = struct("mf_patch_embed_desc", c=lit(c), h=lit(h), w=lit(w), patch_h=lit(p.patch[0]),
                      patch_w=lit(p.patch[1]), dim=lit(p.dim), hp=lit(p.grid[0]), wp=lit(p.grid[1]),
                      has_cls=lit(p.has_cls))
        ins = (node.inputs + ["", "", "", "", ""])[:5]
        return [Call(ctx.kernel("patch_embed"), (TensorArg(ins[0]), TensorArg(ins[1]), _opt(ins[2]), _opt(ins[3]),
                                                 _opt(ins[4]), TensorArg(node.outputs[0]), Scratch(), desc),
                     _elem(ctx) * p.grid[1] * p.dim)]

    @classmethod
    def alias_candidates(cls, p: PatchEmbedParams, node: Node, g: Graph) -> list[tuple[str, str]]:
        return [(node.inputs[0], "overwrite")]

    @classmethod
    def overwrite_ok(cls, p: PatchEmbedParams, node: Node, g: Graph) -> bool:
        # Each finished patch row's tokens (plus the class row) end before the first input
        # row the next patch row reads (see mf_patch_embed_desc); batch 1 only.
        n, c, h, w = g.tensors[node.inputs[0]].shape
        return n == 1 and (p.grid[1] + int(p.has_cls)) * p.dim <= p.patch[0] * w


# ---------------------------------------------------------------- kernel table
# Scratch is sized in lower() (one formula per op, block and k_panel in the descriptor). Every
# variant file calls the scratch-size functions of the FP32 reference file; the FP16 SIMD files
# run their products on the GEMM panels of gemm_f16_<isa>.c and share vmath_<isa>.inc.
_H = "mf_transformer.h"
TRANSFORMER_SIGS = {  # the FP16 token chain's steps point at FP16 weights: its own descriptor
    "mf_token_chain": {dt: Sig(_H, "const {t} *x, const {t} *residual, {t} *y, {t} *scratch, "
                               f"const mf_token_chain_desc{sfx} *d") for dt, sfx in (("f32", ""), ("f16", "_f16"))},
    "mf_attention": Sig(_H, "const {t} *q, const {t} *k, const {t} *v, {t} *out, {t} *scratch, const mf_attention_desc *d"),
    "mf_patch_embed": Sig(_H, "const {t} *x, const {t} *weight, const {t} *bias, const {t} *cls, const {t} *pos, "
                          "{t} *out, {t} *scratch, const mf_patch_embed_desc *d"),
}
for _op, _sig in TRANSFORMER_SIGS.items():
    kernels(_op, "transformer_{dtype}_ref.c", needs=("elementwise_f32_ref.c", "transformer_f32_ref.c"), sig=_sig)
    kernels(_op, "transformer_f32_dsp.c", ("f32",), ("dsp",), ("elementwise_f32_ref.c", "transformer_f32_ref.c"), sig=_sig)
    kernels(_op, "transformer_f16_{isa}.c", ("f16",), ("rvv", "mve"),
            ("elementwise_f32_ref.c", "transformer_f32_ref.c", "transformer_f16_ref.c", "attention_bias_f16_ref.c",
             "gemm_f16_{isa}.c"), sig=_sig)
# masks/biases on the scores: the references, and the dsp / rvv / mve attention kernels with the
# bias added to each row of scores before its softmax
_BIAS_SIG = Sig(_H, "const {t} *q, const {t} *k, const {t} *v, const {t} *bias, int32_t bias_heads, {t} *out, "
                "{t} *scratch, const mf_attention_desc *d")
kernels("mf_attention_bias", "attention_bias_{dtype}_ref.c", sig=_BIAS_SIG)
kernels("mf_attention_bias", "transformer_f32_dsp.c", ("f32",), ("dsp",), ("elementwise_f32_ref.c", "transformer_f32_ref.c"),
        sig=_BIAS_SIG)
kernels("mf_attention_bias", "transformer_f16_{isa}.c", ("f16",), SIMD_ISAS,
        ("elementwise_f32_ref.c", "transformer_f32_ref.c", "transformer_f16_ref.c", "attention_bias_f16_ref.c",
         "gemm_f16_{isa}.c"), sig=_BIAS_SIG)
