"""QDQ regions of a transformer -> integer-only ops (issue 15), for frontend/quant.py.

- DQ -> LayerNormalization -> Q: QLayerNorm (integer mean, variance and square root);
- DQ -> element-wise op of one int8 tensor (and scalar constants) -> Q, e.g. Gelu, Erf,
  Sigmoid, or the attention's scale Mul: QLut, a 256-entry table that is onnxruntime itself
  running DQ -> op -> Q on every int8 value (so it is exact w.r.t. the file as written);
- DQ, DQ -> MatMul of two activations -> Q: QMatMul (QK^T and AV).
Softmax keeps ops/qsoftmax.py. The constants of each op are computed in ops/qtransformer.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import onnx
from onnx import TensorProto, helper

from toolchain.ir.graph import DType, QuantInfo
from toolchain.ops.base import norm_axis
from toolchain.ops.qtransformer import QLayerNormParams, QLutParams, QMatMulParams, layernorm_constants, matmul_dims
from toolchain.ops.requant import Requant

if TYPE_CHECKING:
    from toolchain.frontend.quant import _Importer

# element-wise ops whose only runtime input is one int8 tensor become a table; Add keeps
# the integer QAdd (a broadcast constant such as a position embedding is not a scalar)
LUT_OPS = ("Gelu", "Erf", "Sigmoid", "Tanh", "HardSigmoid", "HardSwish", "Exp", "Log", "Sqrt", "Neg", "Abs",
           "Softplus", "Softsign", "Elu", "Selu", "LeakyRelu", "Mish", "Mul", "Div", "Sub", "Pow")
OPS = ("LayerNormalization",) + LUT_OPS
RAW = QuantInfo.per_tensor(1.0, 0)


def handles(imp: "_Importer", i: int, data: list[str]) -> bool:
    """True when this module folds node i (its runtime inputs `data` are int8 views)."""
    n = imp.onodes[i]
    if n.op_type == "LayerNormalization":
        return True
    if n.op_type == "MatMul" and len(data) == 2:
        return True
    if n.op_type in LUT_OPS and len(data) == 1:
        others = [x for x in n.input if x and imp.const(x) is not None]
        return all(np.asarray(imp.const(x)).size == 1 for x in others)
    return False


def region(imp: "_Importer", i: int, data: list[str], out_name: str, out_q: QuantInfo, act: str, amin: int,
           amax: int, origin: list[str], attrs) -> None:  # noqa: ANN001 - onnx_nodes.Attrs
    op = imp.onodes[i].op_type
    if op == "LayerNormalization":
        return layernorm(imp, i, data[0], out_name, out_q, act, origin, attrs)
    if op == "MatMul":
        return matmul(imp, i, data, out_name, out_q, amin, amax, origin)
    return lut(imp, i, data[0], out_name, out_q, act, origin)


def layernorm(imp: "_Importer", i: int, x: str, out_name: str, out_q: QuantInfo, act: str, origin: list[str],
              attrs) -> None:  # noqa: ANN001
    n = imp.onodes[i]
    shape = imp.tensors[x].shape
    if norm_axis(attrs.int("axis", -1), len(shape), attrs) != len(shape) - 1:
        raise imp.err(i, "int8 LayerNormalization only over the last axis")
    if act != "none":
        raise imp.err(i, "an activation after an int8 LayerNormalization is not supported")
    if len(n.output) > 1 and any(n.output[1:]):
        raise imp.err(i, "the Mean/InvStdDev outputs are not supported in int8")
    cols = shape[-1]
    gamma = imp.const(n.input[1])
    beta = imp.const(n.input[2]) if len(n.input) > 2 and n.input[2] else np.zeros(cols)
    if gamma is None or beta is None:
        raise imp.err(i, "scale and bias must be constants")
    if np.asarray(gamma).size not in (1, cols) or np.asarray(beta).size not in (1, cols):
        raise imp.err(i, f"scale and bias must hold {cols} values (the last axis)")
    xq = imp.tensors[x].quant
    try:
        p, gq, bq = layernorm_constants(gamma, beta, attrs.float("epsilon", 1e-5), xq.s, out_q.s, out_q.zp, xq.zp,
                                        cols)
    except ValueError as e:
        raise imp.err(i, str(e)) from None
    # integer constants carry a quant (codegen emits those as weights); these are raw tables
    g = imp.new(f"{imp.names[i]}.gamma_s32", (cols,), DType.INT32, RAW, gq)
    b = imp.new(f"{imp.names[i]}.beta_s32", (cols,), DType.INT32, RAW, bq)
    imp.emit(i, "QLayerNorm", [x, g, b], out_name, shape, out_q, p, origin)


def matmul(imp: "_Importer", i: int, data: list[str], out_name: str, out_q: QuantInfo, amin: int, amax: int,
           origin: list[str]) -> None:
    a, b = data
    aq, bq = imp.tensors[a].quant, imp.tensors[b].quant
    batch, m, n, _ = matmul_dims(imp.tensors[a].shape, imp.tensors[b].shape, False)
    rq = Requant.from_scales(aq.s * bq.s / out_q.s, out_q.zp, amin, amax)
    imp.emit(i, "QMatMul", [a, b], out_name, batch + (m, n), out_q, QMatMulParams(aq.zp, bq.zp, False, rq), origin)


def lut(imp: "_Importer", i: int, x: str, out_name: str, out_q: QuantInfo, act: str, origin: list[str]) -> None:
    if act != "none":
        raise imp.err(i, "an activation after a table-driven int8 op is not supported")
    table = lut_table(imp, i, imp.tensors[x].quant, out_q)
    t = imp.new(f"{imp.names[i]}.lut_s8", (256,), DType.INT8, RAW, table)
    imp.emit(i, "QLut", [x, t], out_name, imp.tensors[x].shape, out_q, QLutParams(imp.onodes[i].op_type), origin)


def lut_table(imp: "_Importer", i: int, xq: QuantInfo, out_q: QuantInfo) -> np.ndarray:
    """onnxruntime (graph optimisations off) running DQ -> node -> Q on the 256 int8 values."""
    import onnxruntime as ort

    n = imp.onodes[i]
    inits = [helper.make_tensor("x_scale", TensorProto.FLOAT, [], [xq.s]),
             helper.make_tensor("x_zp", TensorProto.INT8, [], [xq.zp]),
             helper.make_tensor("y_scale", TensorProto.FLOAT, [], [out_q.s]),
             helper.make_tensor("y_zp", TensorProto.INT8, [], [out_q.zp])]
    ins = []
    for k, name in enumerate(n.input):
        c = imp.const(name) if name else None
        if not name:
            ins.append("")
        elif c is None:
            ins.append("xf")
        else:
            arr = np.asarray(c)
            cname = f"c{k}"
            inits.append(onnx.numpy_helper.from_array(arr.astype(arr.dtype if arr.dtype != np.float64 else np.float32),
                                                      cname))
            ins.append(cname)
    node = helper.make_node(n.op_type, ins, ["yf"], domain=n.domain)
    node.attribute.extend(n.attribute)
    graph = helper.make_graph(
        [helper.make_node("DequantizeLinear", ["x", "x_scale", "x_zp"], ["xf"]), node,
         helper.make_node("QuantizeLinear", ["yf", "y_scale", "y_zp"], ["y"])],
        "lut", [helper.make_tensor_value_info("x", TensorProto.INT8, [256])],
        [helper.make_tensor_value_info("y", TensorProto.INT8, [256])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", max(imp.opset, 13))])
    model.ir_version = min(model.ir_version, 9)
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    try:
        sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
        (y,) = sess.run(None, {"x": np.arange(-128, 128, dtype=np.int8)})
    except Exception as e:  # onnxruntime raises plain exceptions
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise imp.err(i, f"cannot tabulate it for int8: {first[:160]}") from None
    return np.asarray(y, np.int8)
