"""The fast integrated-transformer kernels (token chains, attention, patch embedding): scratch
sizes that C and Python agree on, work blocks that never grow the arena, the ViTs end to end
against onnxruntime, and every blocked/SIMD kernel against its reference in the same QEMU
binary on shapes with tails (tokens, widths, heads and patch grids that are not multiples of
the register tiles, blocks of 1/2/4, outputs over their inputs)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import REAL_MODELS
from toolchain.api import CompileOptions, compile_model
from toolchain.boards import load_board
from toolchain.codegen.emit import RUNTIME
from toolchain.codegen.target import kernel_target
from toolchain.ops.base import KernelTarget
from toolchain.ops.transformer import FusedAttention, Step, TokenChain, TokenChainParams
from toolchain.verify import verify

sys.path.insert(0, str(Path(__file__).parent / "kernels"))
from tharness import Attention, AttentionBias, Chain, LayerNorm, Patch, Softmax, Unary, run_transformer_kernel  # noqa: E402

VITS = ["vit_opset13", "vit_opset18", "lowrank_vit"]
KERNEL_TOL = {"f32": 1e-5, "f16": 1e-2}  # fast vs ref, relative to max(1, max |ref|)


# ---------------------------------------------------------------- host

def test_scratch_sizes_agree_with_c(tmp_path: Path) -> None:
    chains = [((64, 128, 64), 4), ((13, 10), 1), ((128, 16, 256, 16), 2), ((7,), 3)]
    attn = [(17, 16, 4), (50, 32, 1), (9, 5, 3)]
    lines = []
    for widths, block in chains:
        steps = ", ".join(f"{{.kind = MF_STEP_LINEAR, .in_w = {a}, .out_w = {b}}}" for a, b in zip(widths, widths[1:]))
        steps = steps or f"{{.kind = MF_STEP_ACT, .in_w = {widths[0]}, .out_w = {widths[0]}}}"
        n = max(len(widths) - 1, 1)
        lines.append(f'{{ mf_token_chain_desc d = {{.tokens = 5, .n_steps = {n}, .steps = {{{steps}}}, '
                     f'.block = {block}}}; printf("%d\\n", (int)mf_token_chain_scratch_floats(&d)); }}')
    for n_kv, dh, rows in attn:
        lines.append(f'{{ mf_attention_desc d = {{.n_kv = {n_kv}, .dh = {dh}, .q_block = {rows}}}; '
                     f'printf("%d\\n", (int)mf_attention_scratch_floats(&d)); }}')
    main = tmp_path / "main.c"
    main.write_text('#include <stdio.h>\n#include "mf_transformer.h"\nint main(void) {\n' + "\n".join(lines)
                    + "\nreturn 0; }\n")
    exe = tmp_path / "sizes"
    subprocess.run(["gcc", "-std=c11", "-Wall", "-Wextra", "-Werror", f"-I{RUNTIME / 'include'}", str(main),
                    str(RUNTIME / "src" / "transformer_f32_ref.c"), str(RUNTIME / "src" / "elementwise_f32_ref.c"),
                    "-lm", "-o", str(exe)], check=True)
    got = [int(v) for v in subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.split()]
    want = []
    for widths, block in chains:
        steps = tuple(Step("LINEAR", a, b) for a, b in zip(widths, widths[1:])) or (Step("ACT", widths[0], widths[0]),)
        want.append(TokenChain.scratch_floats(TokenChainParams(steps, False), block))
    want += [FusedAttention.scratch_floats(rows, n_kv, dh) for n_kv, dh, rows in attn]
    assert got == want


def _blocks(cm, which: tuple[str, ...] = ("token_chain", "attention")) -> list[int]:  # noqa: ANN001
    out = []
    for cs in cm.calls:
        for c in cs:
            if any(w in c.kernel for w in which):
                fields = dict(c.args[-1].fields)
                out.append(int((fields.get("block") or fields.get("q_block")).text))
    return out


@pytest.mark.parametrize("model", VITS)
def test_blocks_never_grow_the_arena(model: str) -> None:
    """The blocked kernels take the largest block whose scratch fits under the arena the
    one-token kernels need: same arena, and most nodes still get 4-token blocks."""
    ref = compile_model(REAL_MODELS[model])
    fast = compile_model(REAL_MODELS[model], options=CompileOptions(target=kernel_target(load_board("stm32f746-disco"))))
    assert fast.arena_bytes <= ref.arena_bytes
    assert set(_blocks(ref)) == {1}
    blocks = _blocks(fast, ("token_chain",))
    assert blocks.count(4) >= len(blocks) * 3 // 4, blocks
    # head dim 16 (the example ViTs): the M7 attention takes its query-row path, which needs no
    # 4-row scratch; the low-rank ViT's head dim 32 keeps the 4 x 4 tiles
    assert set(_blocks(fast, ("attention",))) == ({4} if model == "lowrank_vit" else {1})


@pytest.mark.parametrize("model", VITS)
def test_blocked_vit_matches_onnxruntime_on_host(model: str) -> None:
    r = verify(REAL_MODELS[model], options=CompileOptions(target=KernelTarget("f32", ("dsp",))), sanitize=True)
    assert r.max_rel_error <= 1e-4, r.as_dict()


# ---------------------------------------------------------------- qemu: kernels

CHAINS = [
    Chain(17, (64, 128, 64)),  # the example ViT's MLP: one token left after 4 blocks of 4
    Chain(50, (128, 16, 128), act="MF_ACT_NONE", residual=True, inplace=True),  # low-rank, over the residual
    Chain(7, (13, 10), inplace=True, relu_step=True),  # widths off the 4-column tile, output over x
    Chain(9, (12, 20, 8), residual=True, block=2),
    Chain(3, (8, 8), layernorm=False, act="MF_ACT_RELU", block=1),
]
ATTENTIONS = [Attention(17, 17, 4, 16), Attention(7, 9, 3, 5, inplace=True), Attention(5, 5, 1, 8, q_block=1)]
PATCHES = [Patch(3, 32, 32, 8, 64), Patch(2, 20, 28, 4, 10, has_cls=False), Patch(3, 16, 48, 8, 20, inplace=True)]
# q_block 1 on the M7: query row in registers for 8-wide head chunks (VLDM per key), 1 x 8 PV;
# head dims 8 (the zoo ViTs), 20 (two chunks and a tail of 4) and 3 (tail only); odd and even
# key counts (the 2-key loop's tail); outputs over q.
# Head dims up to 16 take the row path at any q_block; above, q_block 4 keeps the 4 x 4 tiles.
ROW_ATTENTIONS = [Attention(65, 65, 4, 8, q_block=1), Attention(7, 9, 2, 20, q_block=1, inplace=True),
                  Attention(6, 4, 3, 8, q_block=1, inplace=True), Attention(3, 5, 2, 3, q_block=1),
                  Attention(9, 11, 2, 20, q_block=4, inplace=True), Attention(10, 7, 1, 24, q_block=4)]
# M7 patch width 4: the 4 x 2 assembly tile, an odd output count (a C tile for the last),
# a patch row of 5 tokens (4 in assembly, 1 in C), over the input
PW4_PATCHES = [Patch(3, 16, 16, 4, 7), Patch(1, 8, 20, 4, 6, has_cls=False, inplace=True)]
# the standalone FP32 LayerNorm on the M7 (norm_f32_dsp.c): a 4-unrolled body with a tail, and
# a 3-wide row (tail only) without affine, in place
F32_NORMS = [LayerNorm(5, 70), LayerNorm(4, 3, affine=False, inplace=True)]
F32_CASES = CHAINS + ATTENTIONS + ROW_ATTENTIONS + PATCHES + PW4_PATCHES + F32_NORMS
NORMS = [LayerNorm(5, 70), LayerNorm(3, 13, affine=False, inplace=True), Softmax(4, 50), Softmax(3, 9, inplace=True),
         Unary(77), Unary(21, "MF_ACT_RELU", inplace=True), Unary(9, "MF_ACT_SIGMOID")]
F16_CASES = [Chain(17, (64, 128, 64), block=8), Chain(9, (12, 20, 8), residual=True, block=3)] + CHAINS[1:] + \
    [Attention(17, 17, 4, 16, q_block=6)] + ATTENTIONS + PATCHES + [Patch(3, 16, 56, 8, 20)] + NORMS
# FP16 query-row path (q_block 1, 3 <= dh <= 16: 4 query rows per K load, keys along the
# vector): the HF ViT's shape (65 keys: full strips and a 1-key tail, 65 rows: a 1-row group),
# the smallest head dim whose scores fit the K panel (3) with a 2-row last group over q, a 16-wide
# head over 33 keys; head dim 2 stays on the panel path.
ROW_F16_ATTENTIONS = [Attention(65, 65, 4, 8, q_block=1), Attention(6, 19, 2, 3, q_block=1, inplace=True),
                      Attention(7, 33, 1, 16, q_block=1), Attention(5, 7, 2, 2, q_block=1)]
# RVV row path details (issue 13): last keys by reductions (2 after an LMUL-2 strip; 3 keys
# only, with a 1-row group), 5 last keys in an LMUL-1 strip, and rows whose max sits outside the
# folded exponent shifter's range (scale 400: exp_row_clamped).
ROW_F16_ATTENTIONS += [Attention(6, 18, 2, 8, q_block=1), Attention(5, 3, 1, 4, q_block=1, inplace=True),
                       Attention(9, 37, 2, 6, q_block=1), Attention(6, 20, 2, 8, q_block=1, scale=400.0)]
F16_CASES += ROW_F16_ATTENTIONS
# Helium's query-column path (8 queries along the vector, q_block 1, when 8 n_kv halves fit the
# K panel): head dims 7 (QK^T dims 4 + 3, PV 6 + 1) over 10 queries (a 2-query last group),
# output over q; and 12 (PV 6 + 6) over 9 queries. The 65 x 65 x 8 and 7 x 33 x 16 cases above
# take it too on Helium; dh 3 stays on the row path.
F16_CASES += [Attention(10, 12, 2, 7, q_block=1, inplace=True), Attention(9, 20, 1, 12, q_block=1)]
# FP16 fused linears (the Helium chain writes bias, activation and residual in its 3 x 16 tiles'
# stores): the HF ViT's MLP widths, GELU then a residual, blocks of 6 with a 1-token block (a
# leftover row); a one-step chain over its own input (through scratch, not in place) with 2
# leftover rows of a 5-token block
F16_CASES += [Chain(13, (32, 64, 32), residual=True, block=6),
              Chain(11, (32, 32), layernorm=False, act="MF_ACT_RELU", block=5, inplace=True)]
# Token chains as Keras's export leaves them (issue 13): a linear without activation, then a
# GELU tanh-form ACT step (on RVV: run in the linear's epilogue), 9 tokens in blocks of 4; and
# the tanh form on a linear with a residual chain whose last linear adds its bias on copy-out.
F16_CASES += [Chain(9, (16, 24), act="MF_ACT_NONE", relu_step=True, step_act="MF_ACT_GELU_TANH", block=4),
              Chain(5, (12, 20, 8), act="MF_ACT_GELU_TANH", residual=True, block=2)]
SIMD_BOARDS = [("rv32-rvv", "rvv"), ("cortex-m55-an547", "mve")]


def _check(board: str, case, dtype: str, isa: str, tmp_path: Path) -> None:  # noqa: ANN001
    from fixtures.sim_support import require_tools

    b = load_board(board)
    require_tools(b)
    r = run_transformer_kernel(b, case, dtype, isa, out_dir=tmp_path)
    scale = max(1.0, float(np.max(np.abs(r.ref))))
    assert np.all(np.isfinite(r.fast))
    assert float(np.max(np.abs(r.fast - r.ref))) <= KERNEL_TOL[dtype] * scale
    assert r.instructions > 0


@pytest.mark.qemu
@pytest.mark.parametrize("case", F32_CASES, ids=str)
def test_dsp_kernel_matches_ref(case, tmp_path: Path) -> None:  # noqa: ANN001
    _check("stm32f746-disco", case, "f32", "dsp", tmp_path)


# FP16 attention with a score bias (issue 13: masked FP16 ViTs): per-head and shared biases,
# key counts off the vector length, query blocks of 1 and off the 8/3-row tiles, a causal -inf
# mask with a fully masked row (zeros), outputs over q.
BIAS_CASES = [AttentionBias(17, 17, 4, 16, bias_heads=4, q_block=6), AttentionBias(9, 9, 2, 8, q_block=1),
              AttentionBias(7, 7, 3, 5, mask=True, inplace=True, q_block=8),
              AttentionBias(10, 10, 2, 8, bias_heads=2, mask=True, q_block=1, inplace=True)]

# The M7/M4 ones: 4-row tiles and the query-row path, shared and per-head biases, masks.
F32_BIAS_CASES = [AttentionBias(17, 17, 4, 16, bias_heads=4), AttentionBias(9, 9, 2, 8, q_block=1),
                  AttentionBias(7, 7, 3, 5, mask=True, inplace=True, q_block=1),
                  AttentionBias(6, 6, 2, 8, bias_heads=2, mask=True, q_block=4),
                  AttentionBias(6, 6, 2, 24, bias_heads=2, mask=True, q_block=4)]


@pytest.mark.qemu
@pytest.mark.parametrize("case", F32_BIAS_CASES, ids=str)
def test_dsp_attention_bias_matches_ref(case, tmp_path: Path) -> None:  # noqa: ANN001
    _check("stm32f746-disco", case, "f32", "dsp", tmp_path)


@pytest.mark.qemu
@pytest.mark.parametrize("board,isa", SIMD_BOARDS)
@pytest.mark.parametrize("case", BIAS_CASES, ids=str)
def test_f16_attention_bias_matches_ref(board: str, isa: str, case, tmp_path: Path) -> None:  # noqa: ANN001
    _check(board, case, "f16", isa, tmp_path)


@pytest.mark.qemu
@pytest.mark.parametrize("board,isa", SIMD_BOARDS)
@pytest.mark.parametrize("case", F16_CASES, ids=str)
def test_f16_simd_kernel_matches_ref(board: str, isa: str, case, tmp_path: Path) -> None:  # noqa: ANN001
    _check(board, case, "f16", isa, tmp_path)


# ---------------------------------------------------------------- qemu: end to end

@pytest.mark.qemu
@pytest.mark.parametrize("model", ["vit_opset18", "lowrank_vit"])
def test_blocked_vit_on_m7(model: str) -> None:
    from fixtures.sim_support import require_tools
    from toolchain.run import run_on_board

    b = load_board("stm32f746-disco")
    require_tools(b)
    r = run_on_board(REAL_MODELS[model], b)
    assert r.match, [o for o in r.outputs]
    assert r.instructions and r.instructions > 0


# FP16 end to end: max |ours - onnxruntime FP32| <= FP16_TOL * max(1, max |ref|) (FP16 storage,
# FP16 accumulation in the SIMD GEMM panels, FP32 LayerNorm/softmax/GELU), same top-1.
FP16_TOL = 2e-2


@pytest.mark.parametrize("model", VITS)
def test_fp16_keeps_integration(model: str) -> None:
    """FP16 builds integrate (token chains, attention, patch embedding in FP16); their arena is
    the float32 model input (its FP16 copy overwrites it, and everything after fits in it, work
    blocks included), at most the op-by-op FP16 arena."""
    for board in ("rv32-rvv", "cortex-m55-an547"):
        cm = compile_model(REAL_MODELS[model], options=CompileOptions(target=kernel_target(load_board(board), "fp16")))
        ops = {n.op for n in cm.nodes}
        assert {"TokenChain", "FusedAttention", "PatchEmbed"} <= ops
        assert cm.arena_bytes == cm.graph.tensors[cm.graph.inputs[0]].nbytes  # the float32 input sets it
        naive = compile_model(REAL_MODELS[model], options=CompileOptions(integrate=False,
                              target=kernel_target(load_board(board), "fp16")))
        assert cm.arena_bytes <= naive.arena_bytes


@pytest.mark.parametrize("model", ["vit_opset18", "lowrank_vit"])
def test_fp16_vit_matches_onnxruntime_on_host(model: str) -> None:
    r = verify(REAL_MODELS[model], options=CompileOptions(target=KernelTarget("f16")))
    assert r.max_rel_error <= FP16_TOL, r.as_dict()


@pytest.mark.qemu
@pytest.mark.slow
@pytest.mark.parametrize("board", [b for b, _ in SIMD_BOARDS])
@pytest.mark.parametrize("model", ["vit_opset18", "lowrank_vit"])
def test_fp16_vit_on_simd_board(model: str, board: str) -> None:
    from fixtures.sim_support import require_tools
    from toolchain.run import run_on_board

    b = load_board(board)
    require_tools(b)
    r = run_on_board(REAL_MODELS[model], b, dtype="fp16")
    assert r.match, [o for o in r.outputs]
    assert r.extra["top1_agree"]
