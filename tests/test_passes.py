"""Each pass on its own: numerics preserved (numpy interpreter), IR verified, and the
rewrite it is for actually happens."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from conftest import REAL_MODELS
from toolchain.frontend import load_onnx
from toolchain.interp import run_graph
from toolchain.ir import verify_graph
from toolchain.passes import FUSIONS, REQUIRED
from toolchain.passes.fold import drop_unused, fold_conv_affine, fuse_activation, fuse_matmul_bias
from toolchain.passes.patterns import fuse_gelu, fuse_layernorm


def _inputs(g, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(g.tensors[n].shape).astype(np.float32) for n in g.inputs]


@pytest.mark.parametrize("name", ["resnet8", "dscnn", "vit_opset13", "vit_opset18"])
@pytest.mark.parametrize("p", REQUIRED + FUSIONS, ids=lambda f: f.__name__)
def test_pass_preserves_values(name, p) -> None:
    g = load_onnx(REAL_MODELS[name])
    for q in REQUIRED:
        g = q(g)
    x = _inputs(g)
    before = run_graph(g, x)
    h = drop_unused(p(g))
    verify_graph(h)
    after = run_graph(h, x)
    for a, b in zip(before, after):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)


def _ops(g):
    return Counter(n.op_type for n in g.nodes)


def test_layernorm_pattern_is_recognised() -> None:
    g = load_onnx(REAL_MODELS["vit_opset13"])
    assert _ops(g)["ReduceMean"] == 10
    h = fuse_layernorm(g)
    assert _ops(h)["LayerNormalization"] == 5 and _ops(h)["ReduceMean"] == 0 and _ops(h)["Pow"] == 0


def test_gelu_pattern_is_recognised() -> None:
    g = load_onnx(REAL_MODELS["vit_opset13"])
    h = fuse_gelu(g)
    assert _ops(g)["Erf"] == 2 and _ops(h)["Erf"] == 0 and _ops(h)["Gelu"] == 2


def test_conv_activation_fusion() -> None:
    g = load_onnx(REAL_MODELS["dscnn"])
    h = fuse_activation(fold_conv_affine(g))
    assert _ops(h)["Relu"] == 0
    assert all(n.params.act.kind == "RELU" for n in h.nodes if n.op_type == "Conv")


def test_matmul_bias_fusion() -> None:
    g = load_onnx(REAL_MODELS["resnet8"])
    h = fuse_matmul_bias(g)
    mm = [n for n in h.nodes if n.op_type == "MatMul"]
    assert len(mm) == 1 and len(mm[0].inputs) == 3 and _ops(h)["Add"] == _ops(g)["Add"] - 1


def test_batchnorm_folds_into_conv() -> None:
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), "w")
    stats = [numpy_helper.from_array(v.astype(np.float32), n) for n, v in
             (("s", rng.uniform(0.5, 2, 4)), ("b", rng.standard_normal(4)), ("m", rng.standard_normal(4)),
              ("v", rng.uniform(0.5, 2, 4)))]
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("BatchNormalization", ["c", "s", "b", "m", "v"], ["y"])]
    m = helper.make_model(helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 8, 8])], [w] + stats),
        opset_imports=[helper.make_opsetid("", 15)])
    from toolchain.api import compile_model
    from toolchain.verify import compare, onnxruntime_outputs
    from toolchain.interp import run_graph as rg

    cm = compile_model(m)
    assert _ops(cm.graph) == Counter({"Conv": 1})
    x = [rng.standard_normal((1, 3, 8, 8)).astype(np.float32)]
    assert compare(["y"], rg(cm.graph, x), onnxruntime_outputs(m, ["x"], x))[0].match
