"""QDQ regions of a transformer -> integer-only ops (issue 15), for frontend/quant.py.

- DQ -> LayerNormalization -> Q: QLayerNorm (integer mean, variance and square root);
- DQ -> element-wise op of one int8 tensor (and scalar constants) -> Q, e.g. Gelu, Erf,
  Sigmoid, or the attention's scale Mul: QLut, a 256-entry table that is onnxruntime itself
  running DQ -> op -> Q on every int8 value (so it is exact w.r.t. the file as written);
- DQ, DQ -> MatMul of two activations -> Q: QMatMul (QK^T and AV);
- DQ, DQ -> Mul of two activations -> Q: QMul (the GELU formula's x * (1 + erf)).
Softmax keeps ops/qsoftmax.py. The constants of each op are computed in ops/qtransformer.py.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper

from toolchain.ir.graph import DType, QuantInfo
from toolchain.ops.base import norm_axis
from toolchain.ops.qtransformer import QLayerNormParams, QLutParams, QMatMulParams, QMulParams, layernorm_constants
from toolchain.ops.qtransformer import matmul_dims
from toolchain.ops.requant import Requant

# `imp` below is frontend/quant.py's QDQ importer (its tensors, nodes and emit/err helpers).
# It is typed Importer = Any rather than imported: quant.py imports this module, and the
# import-graph test forbids the cycle even under TYPE_CHECKING.
Importer = Any

# Element-wise float ops: a region of them fed by one int8 tensor (and constants) and ending in
# one QuantizeLinear is a function of 256 values, so it becomes a table: a single Gelu or the
# attention's scale Mul, or the exporters' Erf formula of GELU (Div, Erf, Add, Mul, Mul: the
# quantizer leaves Div and Erf float, so the whole formula sits between one DQ and one Q).
# Add with a non-scalar constant keeps the integer QAdd (a bias row, a position embedding).
ELEMENTWISE = ("Gelu", "Erf", "Sigmoid", "Tanh", "HardSigmoid", "HardSwish", "Exp", "Log", "Sqrt", "Neg", "Abs",
               "Softplus", "Softsign", "Elu", "Selu", "LeakyRelu", "Mish", "Relu", "Clip", "Mul", "Div", "Add",
               "Sub", "Pow", "Reciprocal")
OPS = ("LayerNormalization",) + ELEMENTWISE
RAW = QuantInfo.per_tensor(1.0, 0)
MAX_TABLE_NODES = 16


def handles(imp: Importer, i: int, data: list[str]) -> bool:
    """True when this module folds node i (its runtime inputs `data` are int8 views)."""
    n = imp.onodes[i]
    if n.op_type == "LayerNormalization":
        return True
    if n.op_type in ("MatMul", "Mul") and len(data) == 2:
        return True
    return False


def region(imp: Importer, i: int, data: list[str], out_name: str, out_q: QuantInfo, act: str, amin: int,
           amax: int, origin: list[str], attrs) -> None:  # noqa: ANN001 - onnx_nodes.Attrs
    op = imp.onodes[i].op_type
    if op == "LayerNormalization":
        return layernorm(imp, i, data[0], out_name, out_q, act, origin, attrs)
    if op == "Mul":
        return mul(imp, i, data, out_name, out_q, amin, amax, origin)
    return matmul(imp, i, data, out_name, out_q, amin, amax, origin)


def mul(imp: Importer, i: int, data: list[str], out_name: str, out_q: QuantInfo, amin: int, amax: int,
        origin: list[str]) -> None:
    """Element-wise product of two int8 activations of one shape (x * (1 + erf(x / sqrt 2))
    in the exporters' GELU formula)."""
    a, b = data
    if imp.tensors[a].shape != imp.tensors[b].shape:
        raise imp.err(i, "int8 Mul of two activations needs one shape (no broadcasting)")
    aq, bq = imp.tensors[a].quant, imp.tensors[b].quant
    rq = Requant.from_scales(aq.s * bq.s / out_q.s, out_q.zp, amin, amax)
    imp.emit(i, "QMul", [a, b], out_name, imp.tensors[a].shape, out_q, QMulParams(aq.zp, bq.zp, rq), origin)


def layernorm(imp: Importer, i: int, x: str, out_name: str, out_q: QuantInfo, act: str, origin: list[str],
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


def matmul(imp: Importer, i: int, data: list[str], out_name: str, out_q: QuantInfo, amin: int, amax: int,
           origin: list[str]) -> None:
    a, b = data
    aq, bq = imp.tensors[a].quant, imp.tensors[b].quant
    batch, m, n, _ = matmul_dims(imp.tensors[a].shape, imp.tensors[b].shape, False)
    rq = Requant.from_scales(aq.s * bq.s / out_q.s, out_q.zp, amin, amax)
    imp.emit(i, "QMatMul", [a, b], out_name, batch + (m, n), out_q, QMatMulParams(aq.zp, bq.zp, False, rq), origin)


def table_region(imp: Importer, i: int) -> bool:
    """Node i and the element-wise float nodes after it, when together they compute a function
    of one int8 tensor ending in one QuantizeLinear: one QLut node. False (nothing done) when
    node i does not start such a region."""
    n = imp.onodes[i]
    if n.op_type not in ELEMENTWISE:
        return False
    views = {x for x in n.input if x in imp.fview}
    if len(views) != 1 or any(x not in views and not _scalar(imp, x) for x in n.input if x):
        return False
    (view,) = views
    region, made, q_end = [i], {o for o in n.output if o}, None
    todo = list(made)
    while todo:
        name = todo.pop()
        if name in imp.outputs:
            return False
        for j in imp.users.get(name, []):
            c = imp.onodes[j]
            if j in region or j == q_end:
                continue
            if c.op_type == "QuantizeLinear" and c.input[0] == name:
                if q_end is not None:
                    return False
                q_end = j
                continue
            ok = c.op_type in ELEMENTWISE and all(x in made or x == view or _scalar(imp, x) for x in c.input if x)
            if not ok or j in imp.done or len(region) >= MAX_TABLE_NODES:
                return False
            region.append(j)
            made |= {o for o in c.output if o}
            todo.extend(o for o in c.output if o)
    if q_end is None or imp.onodes[q_end].input[0] not in made:
        return False
    # each region output is read inside the region or by the QuantizeLinear only (checked
    # above); now evaluate it on every int8 value
    qn = imp.onodes[q_end]
    out_q = imp.qinfo(q_end, qn.input[1], qn.input[2] if len(qn.input) > 2 else None)
    if out_q.per_channel:
        raise imp.err(q_end, "per-channel quantisation of activations is not supported")
    x = imp.fview[view]
    order = sorted(region)
    table = lut_table(imp, order, view, qn.input[0], imp.tensors[x].quant, out_q)
    imp.done.update(order[1:] + [q_end])
    t = imp.new(f"{imp.names[i]}.lut_s8", (256,), DType.INT8, RAW, table)
    names = [imp.names[j] for j in order]
    imp.emit(i, "QLut", [x, t], qn.output[0], imp.tensors[x].shape, out_q,
             QLutParams("+".join(imp.onodes[j].op_type for j in order)), names + [imp.names[q_end]])
    return True


def _scalar(imp: Importer, name: str) -> bool:
    c = imp.const(name) if name else None
    return c is not None and np.asarray(c).size == 1


def lut_table(imp: Importer, order: list[int], view: str, result: str, xq: QuantInfo,
              out_q: QuantInfo) -> np.ndarray:
    """onnxruntime (graph optimisations off) running DQ -> the region's nodes -> Q on the
    256 int8 values."""
    import onnxruntime as ort

    inits = [helper.make_tensor("mf_x_scale", TensorProto.FLOAT, [], [xq.s]),
             helper.make_tensor("mf_x_zp", TensorProto.INT8, [], [xq.zp]),
             helper.make_tensor("mf_y_scale", TensorProto.FLOAT, [], [out_q.s]),
             helper.make_tensor("mf_y_zp", TensorProto.INT8, [], [out_q.zp])]
    nodes = [helper.make_node("DequantizeLinear", ["mf_x", "mf_x_scale", "mf_x_zp"], [view])]
    consts: set[str] = set()
    for j in order:
        n = imp.onodes[j]
        for x in n.input:
            if x and x != view and x not in consts and imp.const(x) is not None:
                arr = np.asarray(imp.const(x))
                inits.append(onnx.numpy_helper.from_array(arr.astype(np.float32) if arr.dtype == np.float64 else arr, x))
                consts.add(x)
        node = onnx.NodeProto()
        node.CopyFrom(n)
        nodes.append(node)
    nodes.append(helper.make_node("QuantizeLinear", [result, "mf_y_scale", "mf_y_zp"], ["mf_y"]))
    graph = helper.make_graph(nodes, "lut", [helper.make_tensor_value_info("mf_x", TensorProto.INT8, [256])],
                              [helper.make_tensor_value_info("mf_y", TensorProto.INT8, [256])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", max(imp.opset, 13))])
    model.ir_version = min(model.ir_version, 9)
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    so.log_severity_level = 3
    try:
        sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
        (y,) = sess.run(None, {"mf_x": np.arange(-128, 128, dtype=np.int8)})
    except Exception as e:  # onnxruntime raises plain exceptions
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise imp.err(order[0], f"cannot tabulate it for int8: {first[:160]}") from None
    return np.asarray(y, np.int8).reshape(256)
