"""Issue 13: separate q, k, v Linears on one input (Hugging Face, Keras) become one concatenated
linear that the attention reads at column offsets (passes/qkv.py), so each block's LayerNorm
runs once. Oracle: the graph's numpy references before and after the pass (toolchain.interp),
and onnxruntime end to end (tests/test_zoo.py)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from toolchain.api import CompileOptions, compile_model
from toolchain.boards import load_board
from toolchain.codegen.target import kernel_target
from toolchain.frontend import load_onnx
from toolchain.interp import run_graph
from toolchain.ir.verify import verify_graph
from toolchain.passes import FUSIONS, REQUIRED
from toolchain.passes.integrate import INTEGRATIONS
from toolchain.passes.qkv import merge_shared_linears

ZOO = Path(__file__).resolve().parent / "zoo"
# model -> (blocks, heads * dh)
SEPARATE_QKV = {"hf_vit_eager": (2, 32), "hf_vit_sdpa_dynamo": (2, 32), "hf_vit_h2_depth1": (1, 32),
                "keras_mha_tf2onnx": (2, 32), "keras_mha_einsum_tf2onnx": (2, 32)}


def _before_merge(name: str):  # noqa: ANN202
    g = load_onnx(ZOO / f"{name}.onnx")
    for p in REQUIRED + FUSIONS + INTEGRATIONS[:INTEGRATIONS.index(merge_shared_linears)]:
        g = p(g)
    return g


@pytest.mark.parametrize("name", sorted(SEPARATE_QKV))
def test_one_layernorm_and_one_qkv_chain_per_block(name: str) -> None:
    blocks, width = SEPARATE_QKV[name]
    cm = compile_model(ZOO / f"{name}.onnx", options=CompileOptions(prefer="speed"))
    prod = {o: n for n in cm.graph.nodes for o in n.outputs}
    attns = [n for n in cm.graph.nodes if n.op_type == "FusedAttention"]
    assert len(attns) == blocks
    for a in attns:
        assert len(set(a.inputs[:3])) == 1, a.inputs  # q, k and v out of one tensor
        chain = prod[a.inputs[0]]
        kinds = [s.kind for s in chain.params.steps]
        assert chain.op_type == "TokenChain" and kinds == ["LAYERNORM", "LINEAR"], kinds
        assert chain.params.steps[1].out_w == 3 * width
        assert sorted(a.params.offsets) == [0, width, 2 * width] and a.params.strides == (3 * width,) * 3
    norms = sum(s.kind == "LAYERNORM" for n in cm.graph.nodes if n.op_type == "TokenChain" for s in n.params.steps)
    assert norms == 2 * blocks  # before attention and before the MLP, once each


@pytest.mark.parametrize("name", ["hf_vit_eager", "keras_mha_tf2onnx"])
def test_attention_form_is_chosen_by_prefer(name: str) -> None:
    """Four forms, fastest first: q|k|v merged (the attention can no longer write over q: one
    N x D tensor more where attention sets the peak), apart, pairs of heads, head by head
    (passes/heads.py: the sum, the LayerNorm output and one piece's q/k/v live). Memory first
    without a budget; the fastest that fits one, or with prefer speed."""
    path = ZOO / f"{name}.onnx"
    smallest = compile_model(path)
    merged = compile_model(path, options=CompileOptions(ram_budget=10**6))
    assert smallest.options.split_heads and not smallest.options.merge_qkv and merged.options.merge_qkv
    assert compile_model(path, options=CompileOptions(prefer="speed")).arena_bytes == merged.arena_bytes
    assert compile_model(path, options=CompileOptions(prefer="memory", ram_budget=10**6)).arena_bytes == \
        smallest.arena_bytes
    apart = compile_model(path, options=CompileOptions(ram_budget=merged.arena_bytes - 1))  # merged does not fit
    assert not apart.options.merge_qkv and not apart.options.split_heads
    tokens = 65 if name.startswith("hf") else 64  # Keras's has no class token
    assert merged.arena_bytes - apart.arena_bytes == tokens * 32 * 4  # one FP32 N x D tensor
    # apart does not fit either: pairs of heads (4 heads: 2 pieces), then head by head
    pairs = compile_model(path, options=CompileOptions(ram_budget=apart.arena_bytes - 1))
    assert pairs.options.split_heads == 2 and smallest.arena_bytes < pairs.arena_bytes < apart.arena_bytes
    tight = compile_model(path, options=CompileOptions(ram_budget=pairs.arena_bytes - 1))
    assert tight.options.split_heads == 1 and tight.arena_bytes == smallest.arena_bytes


def test_schedules_compete_by_the_unmerged_integrated_arena() -> None:
    """The schedules compete memory first, the integrated one by its smaller variant (q/k/v
    apart); the merge's speed-for-memory trade comes after the integrated schedule has won. The
    streamed FP16 example ViT under a board's budget: merged, it is larger than the
    op-by-op no-integrate plan, apart smaller, so it must stay integrated (it fell to the
    op-by-op kernels, 3.7x the instructions on rv32-rvv, when merged faced no-integrate alone)."""
    path = Path(__file__).resolve().parents[1] / "examples" / "vit_tiny_opset18.onnx"
    rvv = CompileOptions(stream_input=True, ram_budget=10**6, target=kernel_target(load_board("rv32-rvv"), "fp16"))
    cm = compile_model(path, options=rvv)
    assert cm.schedule == "mcuformer" and cm.options.merge_qkv
    assert any(n.op_type == "FusedAttention" for n in cm.graph.nodes)
    memory = compile_model(path, options=replace(rvv, prefer="memory"))
    assert memory.schedule == "mcuformer" and not memory.options.merge_qkv
    assert memory.arena_bytes < cm.schedule_arenas["no-integrate"] < cm.arena_bytes
