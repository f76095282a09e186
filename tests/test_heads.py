"""Attention head by head (toolchain/passes/heads.py): the memory-first attention form.

Each head's q/k/v columns, one-head attention and rows of the output projection run in turn,
summed into the residual: the same arithmetic as the whole attention up to summation order, with
x, the running sum and one head's q/k/v live instead of x, q, k and v."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import EXAMPLES
from toolchain.api import CompileOptions, compile_model
from toolchain.boards import load_board
from toolchain.codegen.target import kernel_target
from toolchain.frontend import load_onnx
from toolchain.interp import run_graph
from toolchain.passes import optimize
from toolchain.verify import verify

ZOO = Path(__file__).resolve().parent / "zoo"
HEADS = {"merge_qkv": False, "split_heads": 1}
# exporters' forms: fused qkv (timm), three Linears (HF), torch.nn's (N, B, D) views and in_proj,
# a mask added to the scores, Keras Einsum, no class token + average pool, 8 heads, and the
# low-rank ViT (q/k/v and the projection two linears each: no residual right after the
# projection, so the head sums meet in an Add of two chains)
MODELS = [ZOO / f"{n}.onnx" for n in ("timm_vit_legacy", "hf_vit_eager", "torch_encoder_legacy", "torch_mha_mask_dynamo",
                                      "keras_mha_einsum_tf2onnx", "timm_vit_avgpool_noqkvbias_h2",
                                      "timm_vit_depth3_h8_dynamo", "torch_encoder_postnorm_clslast")] \
    + [EXAMPLES / "lowrank_vit_112.onnx", EXAMPLES / "vit_tiny_opset18.onnx"]


def _attentions(g) -> list:
    return [n for n in g.nodes if n.op_type == "FusedAttention"]


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.stem)
def test_head_by_head_graph_equals_the_whole_attention(path: Path) -> None:
    g = load_onnx(path)
    whole = optimize(g, merge_qkv=False)
    split = optimize(g, merge_qkv=False, split_heads=1)
    heads = sum(a.params.heads for a in _attentions(whole))
    assert len(_attentions(split)) == heads and all(a.params.heads == 1 for a in _attentions(split))
    rng = np.random.default_rng(7)
    xs = [rng.standard_normal(g.tensors[i].shape).astype(np.float32) for i in g.inputs]
    for a, b in zip(run_graph(whole, xs), run_graph(split, xs)):
        assert np.allclose(a, b, rtol=1e-4, atol=1e-5 * max(1.0, float(np.abs(a).max()))), np.abs(a - b).max()


@pytest.mark.parametrize("path", MODELS[:6], ids=lambda p: p.stem)
def test_head_by_head_c_matches_onnxruntime(path: Path) -> None:
    r = verify(path, seed=2, options=CompileOptions(**HEADS))
    assert r.match, r


def test_memory_first_takes_heads_where_smaller_and_speed_the_merged_form() -> None:
    """HF ViT FP32 (65 tokens of 32, 4 heads of 8): q/k/v apart peak at the attention with x,
    q, k, v (4 x 65 x 32 floats); head by head with x (the sum, in place), the block's shared
    LayerNorm output and one head's q/k/v (2 x 65 x 32 + 3 x 65 x 8 floats). Memory first keeps
    it, a known budget the fastest form that fits."""
    path = ZOO / "hf_vit_eager.onnx"
    cm = compile_model(path)
    rep = cm.report()
    assert rep["attention_form"] == "heads" and cm.arena_bytes == min(rep["attention_arenas"].values())
    arenas = rep["attention_arenas"]
    assert arenas["heads"] < arenas["pairs"] < arenas["apart"] < arenas["merged"]
    live = (2 * 65 * 32 + 3 * 65 * 8) * 4
    assert "/head" in rep["peak_node"] and live <= cm.arena_bytes <= live + 512  # + the attention's scratch
    assert compile_model(path, options=CompileOptions(ram_budget=10**6)).report()["attention_form"] == "merged"


def test_streamed_fp16_example_vit_arena_at_most_half_its_bound() -> None:
    """The example ViT (17 tokens of 64, 4 heads) streamed, FP16 for the SIMD boards: head by
    head it plans <= 0.5 x the FP16 op-by-op bound (q/k/v apart: 0.63)."""
    for board in ("rv32-rvv", "cortex-m55-an547"):
        o = CompileOptions(stream_input=True, target=kernel_target(load_board(board), "fp16"))
        cm = compile_model(EXAMPLES / "vit_tiny_opset18.onnx", options=o)
        rep = cm.report()
        assert rep["attention_form"] == "heads", rep["attention_arenas"]
        assert cm.arena_bytes <= 0.5 * rep["op_by_op_bound_bytes"], (cm.arena_bytes, rep["op_by_op_bound_bytes"])
        assert rep["attention_arenas"]["apart"] > 0.5 * rep["op_by_op_bound_bytes"]


@pytest.mark.qemu
@pytest.mark.slow
@pytest.mark.parametrize("board", ["rv32-rvv", "cortex-m55-an547", "stm32f746-disco"])
def test_head_by_head_in_qemu_matches_onnxruntime(board: str, tmp_path: Path) -> None:
    """The one-head attentions and the narrow chains on each board's kernels (FP16 SIMD on the
    vector boards, the M7's FP32 DSP ones), streamed, memory first."""
    from fixtures.sim_support import require_tools
    from toolchain.run import run_on_board

    b = load_board(board)
    require_tools(b)
    dtype = "fp32" if board == "stm32f746-disco" else "fp16"
    r = run_on_board(EXAMPLES / "vit_tiny_opset18.onnx", b, tmp_path, dtype=dtype,
                     options=CompileOptions(stream_input=True, prefer="memory"))
    assert r.match and r.extra["top1_agree"], r.as_dict()
    cm = compile_model(EXAMPLES / "vit_tiny_opset18.onnx",
                       options=CompileOptions(stream_input=True, prefer="memory", target=kernel_target(b, dtype)))
    assert cm.report()["attention_form"] == "heads" and r.as_dict()["arena_bytes"] == cm.arena_bytes
    if dtype == "fp16":  # issue 13: <= 0.5 x the FP16 op-by-op bound (14,336 B streamed)
        assert cm.arena_bytes <= 0.5 * cm.report()["op_by_op_bound_bytes"]


@pytest.mark.parametrize("name", ["hf_vit_eager", "timm_vit_depth3_h8_dynamo", "torch_mha_mask_dynamo"])
def test_pairs_of_heads_match_the_whole_attention(name: str) -> None:
    """Two heads a piece (8 heads: four pieces; a mask sliced two heads at a time)."""
    g = load_onnx(ZOO / f"{name}.onnx")
    whole = optimize(g, merge_qkv=False)
    pairs = optimize(g, merge_qkv=False, split_heads=2)
    assert all(a.params.heads == 2 for a in _attentions(pairs))
    assert sum(a.params.heads for a in _attentions(pairs)) == sum(a.params.heads for a in _attentions(whole))
    rng = np.random.default_rng(3)
    xs = [rng.standard_normal(g.tensors[i].shape).astype(np.float32) for i in g.inputs]
    for a, b in zip(run_graph(whole, xs), run_graph(pairs, xs)):
        assert np.allclose(a, b, rtol=1e-4, atol=1e-5 * max(1.0, float(np.abs(a).max()))), np.abs(a - b).max()
    r = verify(ZOO / f"{name}.onnx", seed=4, options=CompileOptions(merge_qkv=False, split_heads=2))
    assert r.match, r
