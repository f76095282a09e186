"""Per-op gradients: our numpy backward references vs PyTorch autograd, and the C training step
(host gcc) vs both. Each case is `x -> trainable pre-layer -> op under test -> y`, MSE loss,
so the C kernels of the op's input gradient are exercised through the pre-layer's update.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from toolchain.frontend import import_model
from toolchain.passes import optimize
from toolchain.train import torch_ref
from toolchain.train.autodiff import build_training_graph
from toolchain.train.hostrun import build_host_trainer, run_host_trainer
from toolchain.train.numpy_ref import run_graph
from toolchain.train.program import compile_training, render_training
from toolchain.train.spec import OptimizerSpec, select_trainable

RNG = np.random.default_rng(1234)


def _w(name: str, *shape: int, scale: float = 0.5) -> onnx.TensorProto:
    return numpy_helper.from_array((RNG.standard_normal(shape) * scale).astype(np.float32), name)


def _model(x_shape, nodes, inits, y_shape=None, opset=18) -> onnx.ModelProto:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x_shape))
    g = helper.make_graph(nodes, "case", [x], [], inits)
    m = onnx.shape_inference.infer_shapes(helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)]),
                                          strict_mode=True)
    g = helper.make_graph(nodes, "case", [x], [v for v in m.graph.value_info if v.name == "y"], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])


def _pre_conv(c: int) -> tuple[list, list]:
    return [helper.make_node("Conv", ["x", "pw", "pb"], ["h"], name="pre")], [_w("pw", c, c, 1, 1), _w("pb", c)]


def _pre_mm(k: int) -> tuple[list, list]:
    return [helper.make_node("MatMul", ["x", "pw"], ["h"], name="pre")], [_w("pw", k, k)]


def _case_conv(attrs: dict, w_shape, c=4, hw=(7, 6), bias=True):
    nodes, inits = _pre_conv(c)
    ins = ["h", "w"] + (["b"] if bias else [])
    nodes.append(helper.make_node("Conv", ins, ["y"], name="op", **attrs))
    inits += [_w("w", *w_shape)] + ([_w("b", w_shape[0])] if bias else [])
    return _model((1, c) + hw, nodes, inits)


def _case_unary(op: str, **attrs):
    nodes, inits = _pre_mm(6)
    nodes.append(helper.make_node(op, ["h"], ["y"], name="op", **attrs))
    return _model((2, 3, 6), nodes, inits)


def _case_nchw(op: str, **attrs):
    nodes, inits = _pre_conv(3)
    nodes.append(helper.make_node(op, ["h"], ["y"], name="op", **attrs))
    return _model((1, 3, 8, 7), nodes, inits)


def _case(nodes_extra, inits_extra, k=6, x_shape=(2, 3, 6), opset=18):
    nodes, inits = _pre_mm(k)
    return _model(x_shape, nodes + nodes_extra, inits + inits_extra, opset=opset)


def _c(name, arr):
    return numpy_helper.from_array(np.asarray(arr), name)


CASES = {
    "gemm_transb_bias_relu": lambda: _model((3, 5), [
        helper.make_node("Gemm", ["x", "pw"], ["h"], name="pre"),
        helper.make_node("Gemm", ["h", "w", "b"], ["g"], name="op", transB=1, alpha=0.7, beta=1.3),
        helper.make_node("Relu", ["g"], ["y"], name="act")], [_w("pw", 5, 5), _w("w", 4, 5), _w("b", 4)]),
    "matmul_batched_bias": lambda: _case([helper.make_node("MatMul", ["h", "w"], ["m"], name="op"),
                                          helper.make_node("Add", ["m", "b"], ["y"], name="bias")],
                                         [_w("w", 6, 5), _w("b", 5)]),
    "matmul_runtime_both": lambda: _case([helper.make_node("Transpose", ["h"], ["t"], name="t", perm=[0, 2, 1]),
                                          helper.make_node("MatMul", ["h", "t"], ["y"], name="op")], []),
    "conv3x3_s2_p1": lambda: _case_conv(dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]), (5, 4, 3, 3)),
    "conv_asym_dilated": lambda: _case_conv(dict(kernel_shape=[2, 3], dilations=[2, 1], pads=[0, 1, 1, 2]), (3, 4, 2, 3)),
    "conv_depthwise": lambda: _case_conv(dict(kernel_shape=[3, 3], pads=[1, 1, 1, 1], group=4), (4, 1, 3, 3)),
    "conv_pointwise_nobias": lambda: _case_conv(dict(kernel_shape=[1, 1]), (6, 4, 1, 1), bias=False),
    "conv_grouped": lambda: _case_conv(dict(kernel_shape=[3, 1], group=2), (6, 2, 3, 1)),
    "conv1d": lambda: _model((1, 3, 9), [
        helper.make_node("Conv", ["x", "pw"], ["h"], name="pre"),
        helper.make_node("Conv", ["h", "w", "b"], ["y"], name="op", kernel_shape=[3], pads=[1, 0], strides=[2])],
        [_w("pw", 3, 3, 1), _w("w", 4, 3, 3), _w("b", 4)]),
    **{f"act_{op.lower()}": (lambda op=op, a=a: _case_unary(op, **a)) for op, a in [
        ("Relu", {}), ("LeakyRelu", {"alpha": 0.1}), ("Elu", {"alpha": 0.7}), ("Selu", {}), ("Sigmoid", {}),
        ("HardSigmoid", {}), ("HardSwish", {}), ("Tanh", {}), ("Softplus", {}), ("Softsign", {}), ("Erf", {}),
        ("Neg", {}), ("Abs", {}), ("Sin", {}), ("Cos", {}), ("Mish", {})]},
    "act_gelu": lambda: _model((2, 3, 6), [
        helper.make_node("MatMul", ["x", "pw"], ["h"], name="pre"),
        helper.make_node("Gelu", ["h"], ["y"], name="op")], [_w("pw", 6, 6)], opset=20),
    "act_gelu_tanh_fused": lambda: _model((2, 3, 6), [
        helper.make_node("MatMul", ["x", "pw"], ["h"], name="pre"),
        helper.make_node("Gelu", ["h"], ["y"], name="op", approximate="tanh")], [_w("pw", 6, 6)], opset=20),
    "act_clip": lambda: _case([helper.make_node("Clip", ["h", "lo", "hi"], ["y"], name="op")],
                              [_c("lo", np.float32(-0.5)), _c("hi", np.float32(0.8))]),
    "add_sub_broadcast": lambda: _case([helper.make_node("Mul", ["h", "s"], ["a"], name="mul"),
                                        helper.make_node("ReduceSum", ["h", "ax"], ["r"], name="red", keepdims=1),
                                        helper.make_node("Sub", ["a", "r"], ["d"], name="sub"),
                                        helper.make_node("Add", ["d", "h"], ["e"], name="add"),
                                        helper.make_node("Div", ["e", "q"], ["y"], name="div")],
                                       [_w("s", 1, 6), _c("ax", np.array([1], np.int64)), _w("q", 6)]),
    "mul_runtime": lambda: _case([helper.make_node("Sigmoid", ["h"], ["s"], name="sig"),
                                  helper.make_node("Mul", ["h", "s"], ["y"], name="op")], []),
    "avgpool": lambda: _case_nchw("AveragePool", kernel_shape=[2, 3], strides=[2, 2]),
    "avgpool_pad": lambda: _case_nchw("AveragePool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
    "globalavgpool": lambda: _case_nchw("GlobalAveragePool"),
    "maxpool": lambda: _case_nchw("MaxPool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
    "layernorm": lambda: _case([helper.make_node("LayerNormalization", ["h", "g", "b"], ["y"], name="op")],
                               [_w("g", 6), _w("b", 6)]),
    "softmax": lambda: _case([helper.make_node("Softmax", ["h"], ["s"], name="op"),
                              helper.make_node("Mul", ["s", "k"], ["y"], name="scale")], [_w("k", 6, scale=3)]),
    "logsoftmax_axis1": lambda: _case([helper.make_node("LogSoftmax", ["h"], ["y"], name="op", axis=1)], []),
    "reshape_transpose_flatten": lambda: _case([
        helper.make_node("Reshape", ["h", "shp"], ["r"], name="rs"),
        helper.make_node("Transpose", ["r"], ["t"], name="tr", perm=[2, 0, 1]),
        helper.make_node("Flatten", ["t"], ["f"], name="fl", axis=1),
        helper.make_node("MatMul", ["f", "w"], ["y"], name="op")],
        [_c("shp", np.array([2, 9, 2], np.int64)), _w("w", 18, 4)]),
    "gather_concat_slice_pad": lambda: _case([
        helper.make_node("Gather", ["h", "i0"], ["g"], name="ga", axis=1),
        helper.make_node("Concat", ["g", "h"], ["c"], name="cat", axis=1),
        helper.make_node("Slice", ["c", "st", "en", "axs"], ["s"], name="sl"),
        helper.make_node("Pad", ["s", "pads"], ["y"], name="pad")],
        [_c("i0", np.array([1, 2], np.int64)), _c("st", np.array([1], np.int64)), _c("en", np.array([4], np.int64)),
         _c("axs", np.array([1], np.int64)), _c("pads", np.array([0, 1, 0, 0, 0, 2], np.int64))]),
}


def _training(model: onnx.ModelProto, opt: OptimizerSpec, trainable: str = "all"):
    g = optimize(import_model(model), integrate=False)  # as toolchain.train.api.prepare
    tg = build_training_graph(g, select_trainable(g, trainable), "mse", opt, extra_grads=("x",))
    return g, tg


def _seeded(g, tg, n=3):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((n,) + g.tensors["x"].shape).astype(np.float32)
    y = rng.standard_normal((n,) + g.tensors[tg.logits].shape).astype(np.float32)
    return x, y


@pytest.mark.parametrize("case", sorted(CASES))
def test_gradients_match_pytorch(case: str) -> None:
    g, tg = _training(CASES[case](), OptimizerSpec("sgd", 0.1))
    x, y = _seeded(g, tg)
    env = {w.name: w.init for w in tg.weights} | {"x": x[0], tg.label: y[0]}
    out = run_graph(tg.graph, env)
    wrt = ["x"] + [w.name for w in tg.weights]
    ref = torch_ref.gradients(tg.graph, tg.logits, {"x": x[0]} | {w.name: w.init for w in tg.weights}, wrt,
                              "mse", y[0])
    ours = {"x": out[tg.grads["x"]]}
    # a weight's gradient is what its SGD step removed: (w0 - w1) / lr
    ours |= {w.name: (w.init.astype(np.float64) - out[w.name]) / 0.1 for w in tg.weights}
    for k in wrt:
        np.testing.assert_allclose(ours[k], ref[k], rtol=2e-3, atol=2e-5, err_msg=f"{case}: d/d{k}")


@pytest.mark.parametrize("case", sorted(CASES))
def test_c_training_step_matches_numpy_and_pytorch(case: str, tmp_path) -> None:
    opt = OptimizerSpec("sgd", 0.05, momentum=0.9)
    g, tg = _training(CASES[case](), opt)
    tg.grads.clear()  # the C program exposes no extra gradients
    tg.graph.outputs = [o for o in tg.graph.outputs if not o.startswith("d(x)")]
    prog = compile_training(tg)
    x, y = _seeded(g, tg)
    steps = 4
    run = run_host_trainer(build_host_trainer(render_training(prog, tmp_path)), prog, x, y, steps)
    # numpy references, step by step
    env = {w.name: w.init for w in tg.weights} | {s: np.zeros_like(w.init) for w in tg.weights for s in w.states}
    np_losses = []
    for s in range(steps):
        env = run_graph(tg.graph, env | {"x": x[s % 3], tg.label: y[s % 3]}, s + 1)
        np_losses.append(float(env[tg.loss][0]))
    ref = torch_ref.train_reference(tg.graph, tg.logits, {w.name: w.init for w in tg.weights}, ["x"], [x], y,
                                    "mse", opt, steps)
    np.testing.assert_allclose(run.losses, np_losses, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(run.losses, ref.losses, rtol=1e-4, atol=1e-5)
    for w in tg.weights:
        np.testing.assert_allclose(run.weights[w.name], env[w.name], rtol=1e-3, atol=1e-5, err_msg=w.name)
        np.testing.assert_allclose(run.weights[w.name], ref.weights[w.name], rtol=1e-3, atol=1e-5, err_msg=w.name)
