"""Small quantised ONNX models built by hand, as tf2onnx / onnxruntime write them: the
int8 tests' cases (one op family each, odd channel counts and tails included)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17


class QDQ:
    """Builds DQ -> op -> Q chains over int8 activations with seeded weights."""

    def __init__(self, seed: int = 0, in_dtype: int = TensorProto.INT8) -> None:
        self.rng = np.random.default_rng(seed)
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.k = 0
        self.in_dtype = in_dtype

    def name(self, base: str) -> str:
        self.k += 1
        return f"{base}_{self.k}"

    def const(self, arr: np.ndarray, base: str = "c") -> str:
        n = self.name(base)
        self.inits.append(numpy_helper.from_array(np.asarray(arr), n))
        return n

    def zp(self, v: int, dtype=np.int8) -> str:
        return self.const(np.array(v, dtype), "zp")

    def dq(self, x: str, scale: float, zp: int, dtype=np.int8) -> str:
        y = self.name("dq")
        self.nodes.append(helper.make_node("DequantizeLinear", [x, self.const(np.float32(scale), "s"),
                                                                self.zp(zp, dtype)], [y], name=y))
        return y

    def q(self, x: str, scale: float, zp: int, dtype=np.int8, out: str | None = None) -> str:
        y = out or self.name("q")
        self.nodes.append(helper.make_node("QuantizeLinear", [x, self.const(np.float32(scale), "s"),
                                                              self.zp(zp, dtype)], [y], name=y + "_q"))
        return y

    def weight(self, shape: tuple[int, ...], axis: int | None = 0) -> tuple[str, np.ndarray]:
        """Symmetric int8 weights, per-channel scales along axis (None: per tensor)."""
        w = self.rng.integers(-127, 128, size=shape).astype(np.int8)
        if axis is None:
            scale = np.float32(self.rng.uniform(0.002, 0.01))
            return self.dq(self.const(w, "w"), float(scale), 0), np.array([scale])
        c = shape[axis]
        scales = self.rng.uniform(0.002, 0.01, size=c).astype(np.float32)
        y = self.name("wdq")
        self.nodes.append(helper.make_node("DequantizeLinear", [self.const(w, "w"), self.const(scales, "s"),
                                                                self.const(np.zeros(c, np.int8), "zp")],
                                           [y], name=y, axis=axis))
        return y, scales

    def bias(self, n: int, in_scale: float, w_scales: np.ndarray) -> str:
        scales = (np.float32(in_scale) * np.broadcast_to(w_scales, (n,))).astype(np.float32)
        b = self.rng.integers(-3000, 3000, size=n).astype(np.int32)
        y = self.name("bdq")
        axis = {} if n == 1 else {"axis": 0}
        self.nodes.append(helper.make_node("DequantizeLinear", [self.const(b, "b"), self.const(scales, "s"),
                                                                self.const(np.zeros(n, np.int32), "zp")],
                                           [y], name=y, **axis))
        return y

    def op(self, op_type: str, ins: list[str], **attrs) -> str:
        y = self.name(op_type.lower())
        self.nodes.append(helper.make_node(op_type, ins, [y], name=y, **attrs))
        return y

    def model(self, x_shape: tuple[int, ...], out: str, out_shape: tuple[int, ...],
              out_dtype: int = TensorProto.INT8) -> onnx.ModelProto:
        g = helper.make_graph(self.nodes, "qdq", [helper.make_tensor_value_info("x", self.in_dtype, list(x_shape))],
                              [helper.make_tensor_value_info(out, out_dtype, list(out_shape))], self.inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)])
        m.ir_version = 8
        onnx.checker.check_model(m)
        return m


X_SCALE, X_ZP = 0.05, -7


def conv_model(cin: int, cout: int, k: int, stride: int, pad: int, group: int, act: str | None,
               hw: tuple[int, int] = (9, 7), seed: int = 0) -> onnx.ModelProto:
    b = QDQ(seed)
    x = b.dq("x", X_SCALE, X_ZP)
    w, ws = b.weight((cout, cin // group, k, k))
    y = b.op("Conv", [x, w, b.bias(cout, X_SCALE, ws)], kernel_shape=[k, k], strides=[stride, stride],
             pads=[pad] * 4, group=group)
    if act == "relu":
        y = b.op("Relu", [y])
    elif act == "clip":
        y = b.op("Clip", [y, b.const(np.float32(0.0)), b.const(np.float32(2.0))])
    y = b.q(y, 0.04, -20 if act is None else -128, out="y")
    oh = (hw[0] + 2 * pad - k) // stride + 1
    ow = (hw[1] + 2 * pad - k) // stride + 1
    return b.model((1, cin) + hw, y, (1, cout, oh, ow))


def fc_model(k: int, n: int, per_channel: bool, seed: int = 0) -> onnx.ModelProto:
    """tf2onnx's dense layer: MatMul with [k][n] weights, then Add of the int32 bias."""
    b = QDQ(seed)
    x = b.dq("x", X_SCALE, X_ZP)
    w, ws = b.weight((k, n), 1 if per_channel else None)
    y = b.op("MatMul", [x, w])
    y = b.op("Add", [y, b.bias(n, X_SCALE, ws)])
    return b.model((2, k), b.q(y, 0.08, 3, out="y"), (2, n))


def add_model(shape=(1, 5, 3, 7), seed: int = 0) -> onnx.ModelProto:
    b = QDQ(seed)
    x = b.dq("x", X_SCALE, X_ZP)
    t = b.q(b.op("Relu", [b.op("Conv", [x, b.weight((shape[1], shape[1], 1, 1))[0]], kernel_shape=[1, 1])]),
            0.03, -128)
    y = b.op("Relu", [b.op("Add", [x, b.dq(t, 0.03, -128)])])
    return b.model(shape, b.q(y, 0.06, -128, out="y"), shape)


def pool_model(kind: str, seed: int = 0) -> onnx.ModelProto:
    b = QDQ(seed)
    x = b.dq("x", X_SCALE, X_ZP)
    if kind == "avg":
        y = b.op("AveragePool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], count_include_pad=1)
        out = (1, 3, 5, 4)
    elif kind == "max":
        y = b.op("MaxPool", [x], kernel_shape=[3, 2], strides=[2, 2], pads=[1, 0, 1, 0])
        out = (1, 3, 5, 3)
    else:
        y = b.op("GlobalAveragePool", [x])
        out = (1, 3, 1, 1)
    return b.model((1, 3, 9, 7), b.q(y, 0.03 if kind != "max" else X_SCALE, -5 if kind != "max" else X_ZP, out="y"),
                   out)


def softmax_model(cols: int = 13, seed: int = 0) -> onnx.ModelProto:
    b = QDQ(seed)
    x = b.dq("x", 0.12, 4)
    y = b.op("Softmax", [x], axis=-1)
    return b.model((3, cols), b.q(y, 1.0 / 256, -128, out="y"), (3, cols))


def concat_model(seed: int = 0) -> onnx.ModelProto:
    """Concat of a tensor and a requantised copy of it at another scale (channel axis)."""
    b = QDQ(seed)
    x = b.dq("x", X_SCALE, X_ZP)
    t = b.q(b.op("Conv", [x, b.weight((4, 3, 1, 1))[0]], kernel_shape=[1, 1]), 0.02, 9)
    y = b.op("Concat", [x, b.dq(t, 0.02, 9)], axis=1)
    return b.model((1, 3, 5, 6), b.q(y, 0.07, 1, out="y"), (1, 7, 5, 6))


def uint8_io_model(seed: int = 0) -> onnx.ModelProto:
    """uint8 input and output (zero points 128 and 120) around a depthwise conv."""
    b = QDQ(seed, TensorProto.UINT8)
    x = b.dq("x", X_SCALE, 128, np.uint8)
    w, ws = b.weight((6, 1, 3, 3))
    y = b.op("Conv", [x, w, b.bias(6, X_SCALE, ws)], kernel_shape=[3, 3], pads=[1, 1, 1, 1], group=6)
    return b.model((1, 6, 5, 5), b.q(y, 0.04, 120, np.uint8, out="y"), (1, 6, 5, 5), TensorProto.UINT8)


def float_io_model(seed: int = 0) -> onnx.ModelProto:
    """Float input and output: QuantizeLinear / DequantizeLinear at the model boundary."""
    b = QDQ(seed, TensorProto.FLOAT)
    xq = b.q("x", X_SCALE, X_ZP)
    x = b.dq(xq, X_SCALE, X_ZP)
    w, ws = b.weight((5, 4, 3, 3))
    y = b.q(b.op("Relu", [b.op("Conv", [x, w, b.bias(5, X_SCALE, ws)], kernel_shape=[3, 3])]), 0.05, -128)
    b.dq(y, 0.05, -128)
    b.nodes[-1].output[0] = "y"
    return b.model((1, 4, 6, 6), "y", (1, 5, 4, 4), TensorProto.FLOAT)


def float_cnn(seed: int = 0) -> onnx.ModelProto:
    """A small float CNN (conv+relu, pointwise conv, residual add, global pool, dense,
    softmax) to quantise with onnxruntime in QDQ or QOperator format."""
    rng = np.random.default_rng(seed)
    def w(name: str, *s: int) -> onnx.TensorProto:
        return numpy_helper.from_array((rng.standard_normal(s) * 0.3).astype(np.float32), name)

    w1, w2, wd = w("w1", 8, 3, 3, 3), w("w2", 8, 8, 1, 1), w("wd", 8, 5)
    b1 = numpy_helper.from_array((rng.standard_normal(8) * 0.1).astype(np.float32), "b1")
    nodes = [helper.make_node("Conv", ["x", w1.name, "b1"], ["c1"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c1"], ["r1"]),
             helper.make_node("Conv", ["r1", w2.name], ["c2"], kernel_shape=[1, 1]),
             helper.make_node("Add", ["c2", "r1"], ["a"]),
             helper.make_node("GlobalAveragePool", ["a"], ["p"]),
             helper.make_node("Flatten", ["p"], ["f"]),
             helper.make_node("MatMul", ["f", wd.name], ["l"]),
             helper.make_node("Softmax", ["l"], ["y"], axis=-1)]
    g = helper.make_graph(nodes, "cnn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 5])], [w1, w2, wd, b1])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    return m


def residual_model(seed: int = 0) -> onnx.ModelProto:
    """s = pointwise(x); s -> conv+relu -> conv -> add(s) -> relu: the block passes/qresidual.py
    fuses (the skip is an activation, not the model input, so its memory may be taken)."""
    b = QDQ(seed)
    x0 = b.dq("x", X_SCALE, X_ZP)
    w0, s0 = b.weight((5, 5, 1, 1))
    x = b.dq(b.q(b.op("Conv", [x0, w0, b.bias(5, X_SCALE, s0)], kernel_shape=[1, 1]), X_SCALE, X_ZP), X_SCALE, X_ZP)
    w1, s1 = b.weight((5, 5, 3, 3))
    t = b.q(b.op("Relu", [b.op("Conv", [x, w1, b.bias(5, X_SCALE, s1)], kernel_shape=[3, 3], pads=[1, 1, 1, 1])]),
            0.03, -128)
    w2, s2 = b.weight((5, 5, 3, 3))
    u = b.q(b.op("Conv", [b.dq(t, 0.03, -128), w2, b.bias(5, 0.03, s2)], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
            0.04, 3)
    y = b.q(b.op("Relu", [b.op("Add", [b.dq(u, 0.04, 3), x])]), 0.06, -128)
    y = b.op("GlobalAveragePool", [b.dq(y, 0.06, -128)])  # so the add's output is not the model's
    return b.model((1, 5, 7, 6), b.q(y, 0.02, -100, out="y"), (1, 5, 1, 1))


def uint8_image_input(q: Path, out: Path) -> Path:
    """A quantised model (float input -> [Transpose ->] QuantizeLinear) taking a uint8 image
    instead: DequantizeLinear(image, s, 128) in front, so the int8 value the QuantizeLinear makes
    is exactly image - 128, as a camera's uint8 pixels would arrive. Written to `out`."""
    m = onnx.load(q)
    g = m.graph
    x = g.input[0]
    srcs = {x.name} | {n.output[0] for n in g.node if n.op_type == "Transpose" and n.input[0] == x.name}
    ql = next(n for n in g.node if n.op_type == "QuantizeLinear" and n.input[0] in srcs)
    g.initializer.append(numpy_helper.from_array(np.array(128, np.uint8), "image_zp"))
    g.node.insert(0, helper.make_node("DequantizeLinear", ["image", ql.input[1], "image_zp"], [x.name]))
    dims = [dd.dim_param or dd.dim_value for dd in x.type.tensor_type.shape.dim]
    del g.input[0]
    g.input.insert(0, helper.make_tensor_value_info("image", TensorProto.UINT8, dims))
    onnx.save(m, out)
    return out
