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
def test_merge_keeps_the_graph_s_numbers(name: str) -> None:
    g = _before_merge(name)
    h = merge_shared_linears(g)
    verify_graph(h)
    assert sum(n.op_type == "MatMul" for n in g.nodes) - sum(n.op_type == "MatMul" for n in h.nodes) == 2 * 2
    x = np.random.default_rng(0).standard_normal(g.tensors[g.inputs[0]].shape).astype(np.float32)
    a, b = run_graph(g, [x])[0], run_graph(h, [x])[0]
    assert np.max(np.abs(a - b)) <= 1e-5 * max(1.0, float(np.max(np.abs(a))))


def test_linear_with_another_reader_stays_apart() -> None:
    """q's output also a graph output: k and v still merge, q is read where it was."""
    g = _before_merge("hf_vit_h2_depth1")
    attn = next(n for n in g.nodes if n.op_type == "FusedAttention")
    q = attn.inputs[0]
    g = replace(g, outputs=list(g.outputs) + [q])
    h = merge_shared_linears(g)
    verify_graph(h)
    attn2 = next(n for n in h.nodes if n.op_type == "FusedAttention")
    assert attn2.inputs[0] == q and attn2.params.offsets[0] == attn.params.offsets[0]
    assert attn2.inputs[1] == attn2.inputs[2] != q
    assert sorted(attn2.params.offsets[1:]) == [0, 32] and attn2.params.strides[1:] == (64, 64)
    x = np.random.default_rng(1).standard_normal(g.tensors[g.inputs[0]].shape).astype(np.float32)
    for a, b in zip(run_graph(g, [x]), run_graph(h, [x])):
        assert np.max(np.abs(a - b)) <= 1e-5 * max(1.0, float(np.max(np.abs(a))))


def test_all_zero_mask_is_no_bias() -> None:
    """Hugging Face's SDPA export adds an all-zero mask to the scores: the attention takes the
    unbiased kernels (not mf_attention_bias_*), and still matches the graph."""
    cm = compile_model(ZOO / "hf_vit_sdpa_dynamo.onnx")
    attns = [n for n in cm.graph.nodes if n.op_type == "FusedAttention"]
    assert len(attns) == 2 and not any(a.params.has_bias or len(a.inputs) > 3 for a in attns)


@pytest.mark.parametrize("name", ["hf_vit_eager", "keras_mha_tf2onnx"])
def test_merge_is_chosen_by_prefer(name: str) -> None:
    """The merge costs the attention's in-place output (one N x D tensor where attention sets
    the peak): memory first without a budget, merged where it fits one or with prefer speed."""
    path = ZOO / f"{name}.onnx"
    apart = compile_model(path)
    merged = compile_model(path, options=CompileOptions(ram_budget=10**6))
    assert not apart.options.merge_qkv and merged.options.merge_qkv
    tokens = 65 if name.startswith("hf") else 64  # Keras's has no class token
    assert merged.arena_bytes - apart.arena_bytes == tokens * 32 * 4  # one FP32 N x D tensor
    assert compile_model(path, options=CompileOptions(prefer="speed")).arena_bytes == merged.arena_bytes
    assert compile_model(path, options=CompileOptions(prefer="memory", ram_budget=10**6)).arena_bytes == apart.arena_bytes
    tight = compile_model(path, options=CompileOptions(ram_budget=merged.arena_bytes - 1))
    assert tight.arena_bytes == apart.arena_bytes  # merged does not fit: apart


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
