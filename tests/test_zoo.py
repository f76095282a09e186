"""Issue 13, the graph half: ViTs as timm, Hugging Face, torch.nn and Keras/tf2onnx export them
(tests/zoo/, written by tests/zoo/make_zoo.py and make_keras_vit.py) get the integrated
schedule, match onnxruntime, and no model in the repository is planned worse than naive."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from conftest import EXAMPLES, MODELS
from toolchain.api import CompileOptions, compile_model
from toolchain.errors import McuforgeError
from toolchain.frontend import load_onnx
from toolchain.ir.graph import Graph, Node, Tensor, DType
from toolchain.ops.shape import ViewParams
from toolchain.ops.movement import TransposeParams
from toolchain.passes.views import View, trace, views_to_reshapes
from toolchain.verify import verify

ZOO = Path(__file__).resolve().parent / "zoo"
# model -> transformer blocks: each must become one FusedAttention
VITS = {
    "timm_vit_legacy": 2, "timm_vit_dynamo": 2, "timm_vit_avgpool_noqkvbias_h2": 2, "timm_vit_depth3_h8_dynamo": 3,
    "timm_vit_opset23": 2,
    "hf_vit_eager": 2, "hf_vit_sdpa_dynamo": 2, "hf_vit_h2_depth1": 1,
    "torch_encoder_legacy": 2, "torch_encoder_dynamo": 2, "torch_encoder_postnorm_clslast": 2,
    "torch_mha_legacy": 2, "torch_mha_mask_dynamo": 2, "torch_mha_mask_legacy": 2,
    "keras_mha_tf2onnx": 2, "keras_mha_h2_tf2onnx": 2, "keras_mha_einsum_tf2onnx": 2, "torch_einsum_legacy": 2,
}
# The must-show: arena <= 0.5 x the op-by-op bound for each family's main export.
HALF = ["timm_vit_legacy", "timm_vit_dynamo", "timm_vit_opset23", "hf_vit_eager", "hf_vit_sdpa_dynamo",
        "torch_encoder_legacy", "torch_encoder_dynamo", "torch_mha_legacy", "torch_mha_mask_legacy",
        "torch_mha_mask_dynamo", "keras_mha_tf2onnx", "keras_mha_einsum_tf2onnx", "torch_einsum_legacy"]


@pytest.mark.parametrize("name", sorted(VITS))
def test_zoo_vit_attention_fused_and_matches_onnxruntime(name: str) -> None:
    path = ZOO / f"{name}.onnx"
    cm = compile_model(path)
    ops = Counter(n.op_type for n in cm.graph.nodes)
    assert cm.schedule == "mcuformer", cm.schedule_arenas
    # one attention per block, or one per head of it where the memory-first plan runs the
    # block head by head (passes/heads.py): either way every head of every block is fused
    blocks = {n.name.split("/head")[0] for n in cm.graph.nodes if n.op_type == "FusedAttention"}
    assert len(blocks) == VITS[name], ops
    whole = compile_model(path, options=CompileOptions(compete=False, merge_qkv=False))
    assert sum(n.params.heads for n in cm.graph.nodes if n.op_type == "FusedAttention") == \
        sum(n.params.heads for n in whole.graph.nodes if n.op_type == "FusedAttention")
    assert ops["Softmax"] == 0, ops  # no N x N scores
    assert ops["Pow"] == ops["GlobalAveragePool"] == ops["Tanh"] == 0, ops  # LayerNorm and GELU recognised
    # no head split/merge copies (Keras keeps the NHWC -> NCHW copy of its input)
    assert ops["Transpose"] == (1 if name.startswith("keras") else 0), ops
    assert ops["PatchEmbed"] == 1 and ops["Conv"] == 0, ops  # whatever movement ops make the tokens
    # per-token chains through the exporters' views: every block LayerNorm, linear and residual
    # Add sits in a TokenChain (the final norm before pooling may stay alone). Post-norm blocks
    # (LayerNorm after the residual Add) keep their norms: a chain ends at its residual.
    if "postnorm" not in name:
        # (head by head, a block's heads share its attention LayerNorm: one more per block)
        shared = len(blocks) if cm.report()["attention_form"] == "heads" else 0
        assert ops["LayerNormalization"] <= 1 + shared and ops["Add"] == ops["Gemm"] == ops["MatMul"] == 0, ops
    r = verify(path, seed=1)
    assert r.match, r


@pytest.mark.parametrize("name", HALF)
def test_zoo_vit_arena_at_most_half_the_op_by_op_bound(name: str) -> None:
    rep = compile_model(ZOO / f"{name}.onnx").report()
    assert rep["arena_bytes"] <= 0.5 * rep["op_by_op_bound_bytes"], (rep["arena_bytes"], rep["op_by_op_bound_bytes"])


def _every_model() -> list[Path]:
    return sorted(EXAMPLES.glob("*.onnx")) + sorted(MODELS.glob("*.onnx")) + sorted(ZOO.glob("*.onnx"))


@pytest.mark.parametrize("path", _every_model(), ids=lambda p: p.stem)
def test_arena_never_worse_than_naive(path: Path) -> None:
    try:
        ours = compile_model(path)
    except McuforgeError as e:  # int8 graphs: not compiled on this branch at all
        pytest.skip(f"does not compile: {e}")
    naive = compile_model(path, options=CompileOptions.schedule("naive"))
    assert ours.arena_bytes <= naive.arena_bytes, (ours.arena_bytes, naive.arena_bytes, ours.schedule_arenas)


def _dense_autoencoder() -> onnx.ModelProto:
    """The MLPerf Tiny AD autoencoder as tf2onnx writes Dense layers: MatMul + Add (+ Relu)."""

    rng = np.random.default_rng(0)
    dims = [640, 128, 128, 128, 128, 8, 128, 128, 128, 128, 640]
    nodes, inits, x = [], [], "x"
    for i, (a, b) in enumerate(zip(dims, dims[1:])):
        inits += [numpy_helper.from_array((rng.standard_normal((a, b)) / np.sqrt(a)).astype(np.float32), f"w{i}"),
                  numpy_helper.from_array(rng.standard_normal(b).astype(np.float32) * 0.1, f"b{i}")]
        nodes += [helper.make_node("MatMul", [x, f"w{i}"], [f"m{i}"]), helper.make_node("Add", [f"m{i}", f"b{i}"], [f"a{i}"])]
        x = f"a{i}"
        if i < len(dims) - 2:
            nodes.append(helper.make_node("Relu", [x], [f"r{i}"]))
            x = f"r{i}"
    g = helper.make_graph(nodes, "ad", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 640])],
                          [helper.make_tensor_value_info(x, TensorProto.FLOAT, ["N", 640])], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])


def test_autoencoder_keeps_the_naive_plan_when_integration_costs_memory(tmp_path) -> None:
    path = tmp_path / "ad.onnx"
    onnx.save(_dense_autoencoder(), path)
    integrated = compile_model(path, options=CompileOptions(compete=False))
    cm = compile_model(path)
    # one token chain's two 640-float rows of scratch made the integrated plan 8,192 B
    assert integrated.arena_bytes == 8192
    # the two widest live activations (640 + 128 floats) x 4 bytes: what op-by-op needs
    assert cm.arena_bytes == min(cm.schedule_arenas.values()) == (640 + 128) * 4 < integrated.arena_bytes
    assert cm.schedule != "mcuformer"
    assert verify(path).match
    torch_export = compile_model(ZOO / "ad_autoencoder.onnx")  # Gemm + BatchNormalization + Relu
    assert torch_export.arena_bytes == torch_export.schedule_arenas["naive"] == (640 + 128) * 4


# ---------------------------------------------------------------- views


def _graph(nodes: list[Node], tensors: list[Tensor], inputs: list[str], outputs: list[str]) -> Graph:
    return Graph("g", {t.name: t for t in tensors}, nodes, inputs, outputs)


def test_trace_composes_movement_ops_into_one_strided_view() -> None:
    # (1, 5, 24) fused qkv -> reshape (1, 5, 3, 2, 4) -> permute (2, 0, 3, 1, 4) -> Gather k=1
    from toolchain.ops.movement import GatherParams

    ts = [Tensor("x", (1, 5, 24), DType.FLOAT32), Tensor("r", (1, 5, 3, 2, 4), DType.FLOAT32),
          Tensor("t", (3, 1, 2, 5, 4), DType.FLOAT32), Tensor("k", (1, 2, 5, 4), DType.FLOAT32)]
    nodes = [Node("r", "Reshape", ["x"], ["r"], ViewParams((1, 5, 3, 2, 4))),
             Node("t", "Transpose", ["r"], ["t"], TransposeParams((2, 0, 3, 1, 4))),
             Node("k", "Gather", ["t"], ["k"], GatherParams(0, (1,), ()))]
    tr = trace(_graph(nodes, ts, ["x"], ["k"]), "k")
    assert tr.source == "x" and len(tr.nodes) == 3
    assert tr.view == View((1, 2, 5, 4), (0, 4, 24, 1), 8)  # head stride dh, row stride 3 x width, offset width
    x = np.arange(120).reshape(1, 5, 24)
    np.testing.assert_array_equal(tr.index, x.reshape(1, 5, 3, 2, 4).transpose(2, 0, 3, 1, 4)[1])


def test_non_affine_index_map_is_not_a_view() -> None:
    idx = np.array([[0, 1], [3, 2]])
    assert View.of(idx) is None
    assert View.of(np.arange(6).reshape(2, 3).T) == View((3, 2), (1, 3), 0)


def test_transpose_of_size_one_dims_becomes_a_reshape() -> None:
    ts = [Tensor("x", (1, 65, 32), DType.FLOAT32), Tensor("y", (65, 1, 32), DType.FLOAT32),
          Tensor("z", (65, 32, 1), DType.FLOAT32)]
    nodes = [Node("t", "Transpose", ["x"], ["y"], TransposeParams((1, 0, 2))),
             Node("u", "Transpose", ["y"], ["z"], TransposeParams((0, 2, 1)))]
    g = views_to_reshapes(_graph(nodes, ts, ["x"], ["z"]))
    assert [n.op_type for n in g.nodes] == ["Reshape", "Reshape"]


def test_attention_bias_from_an_additive_mask_is_kept_per_head_or_shared() -> None:
    g = load_onnx(ZOO / "torch_mha_mask_legacy.onnx")
    from toolchain.passes import optimize

    h = optimize(g)
    att = [n for n in h.nodes if n.op_type == "FusedAttention"]
    assert all(n.params.has_bias and h.tensors[n.inputs[3]].shape == (1, 65, 65) for n in att)


@pytest.mark.parametrize("name,shape", [("timm_vit_legacy", (2, 3, 32, 32)), ("hf_vit_eager", (2, 3, 32, 32)),
                                        ("keras_mha_tf2onnx", (2, 32, 32, 3))])
def test_zoo_vit_batch_two_fuses_attention_and_matches(name: str, shape: tuple[int, ...]) -> None:
    # batch 2: the attention steps n rows per image; the patch embedding stays op by op (its
    # kernel takes one image), which used to give a wrong second image
    path = ZOO / f"{name}.onnx"
    cm = compile_model(path, {"pixels": shape})
    assert len({n.name.split("/head")[0] for n in cm.graph.nodes if n.op_type == "FusedAttention"}) == VITS[name]
    r = verify(path, {"pixels": shape}, seed=3)
    assert r.match, r
