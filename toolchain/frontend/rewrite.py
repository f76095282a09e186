"""ONNX -> ONNX rewrites applied before import, for exporters' forms that have no kernel of
their own but mean something we compile:

- opset-23 `Attention` (the dynamo exporter's scaled_dot_product_attention) is written out as
  MatMul / scale / [+ mask] / Softmax / MatMul, which passes/attention.py fuses again by
  meaning (and the naive schedule runs op by op);
- `Where(IsNaN(p), 0, p)` after a Softmax (torch's SDPA guard for rows masked entirely) is p:
  a softmax over finite scores is never NaN, and the fused attention kernel with a bias writes
  zeros for a row masked entirely, which is what the guard produces.
"""

from __future__ import annotations

import math

import numpy as np
import onnx
from onnx import helper, numpy_helper

from toolchain.errors import UnsupportedOpError


def canonicalize(model: onnx.ModelProto) -> onnx.ModelProto:
    if not any(n.op_type in ("Attention", "IsNaN") for n in model.graph.node):
        return model
    out = onnx.ModelProto()
    out.CopyFrom(model)
    _drop_nan_guards(out.graph)
    _expand_attention(out.graph)
    return out


def _shapes(graph: onnx.GraphProto) -> dict[str, list[int | None]]:
    out = {}
    for vi in list(graph.input) + list(graph.value_info) + list(graph.output):
        tt = vi.type.tensor_type
        if tt.HasField("shape"):
            out[vi.name] = [d.dim_value if d.HasField("dim_value") else None for d in tt.shape.dim]
    for init in graph.initializer:
        out[init.name] = list(init.dims)
    return out


def _rename_uses(graph: onnx.GraphProto, old: str, new: str) -> None:
    for n in graph.node:
        for i, x in enumerate(n.input):
            if x == old:
                n.input[i] = new
    for o in graph.output:
        if o.name == old:  # a graph output keeps its name: bridge it with an Identity
            graph.node.append(helper.make_node("Identity", [new], [old]))


def _drop_nan_guards(graph: onnx.GraphProto) -> None:
    prod = {o: n for n in graph.node for o in n.output}
    consts = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    for n in graph.node:
        if n.op_type == "Constant" and n.attribute and n.attribute[0].name == "value":
            consts[n.output[0]] = numpy_helper.to_array(n.attribute[0].t)
    drop = []
    for w in list(graph.node):
        if w.op_type != "Where" or len(w.input) != 3:
            continue
        isnan, zero, p = prod.get(w.input[0]), consts.get(w.input[1]), w.input[2]
        sm = prod.get(p)
        if (isnan is None or isnan.op_type != "IsNaN" or isnan.input[0] != p or zero is None or zero.size != 1
                or float(zero.reshape(-1)[0]) != 0.0 or sm is None or sm.op_type != "Softmax"):
            continue
        drop += [w]
        users = [u for u in graph.node if isnan.output[0] in u.input and u is not w]
        if not users:
            drop.append(isnan)
        _rename_uses(graph, w.output[0], p)
    keep = [n for n in graph.node if not any(n is d for d in drop)]
    del graph.node[:]
    graph.node.extend(keep)


def _expand_attention(graph: onnx.GraphProto) -> None:
    shapes = _shapes(graph)
    nodes: list[onnx.NodeProto] = []
    for k, n in enumerate(graph.node):
        if n.op_type != "Attention":
            nodes.append(n)
            continue
        nodes.extend(_attention_nodes(graph, n, shapes, f"{n.name or 'Attention'}_{k}"))
    del graph.node[:]
    graph.node.extend(nodes)


def _attention_nodes(graph: onnx.GraphProto, n: onnx.NodeProto, shapes: dict, tag: str) -> list[onnx.NodeProto]:
    a = {x.name: helper.get_attribute_value(x) for x in n.attribute}
    where = f"Attention node {n.name!r}"
    if len(n.input) > 4 and any(n.input[4:]):
        raise UnsupportedOpError(f"{where}: past key/value inputs (KV cache) are not supported")
    if any(n.output[1:]):
        raise UnsupportedOpError(f"{where}: only the first output (no present key/value, no qk output) is supported")
    if a.get("softcap", 0.0) != 0.0:
        raise UnsupportedOpError(f"{where}: softcap is not supported")
    q, k, v = n.input[:3]
    mask = n.input[3] if len(n.input) > 3 else ""
    qs = shapes.get(q)
    if qs is None or qs[-1] is None:
        raise UnsupportedOpError(f"{where}: the query's shape is unknown")
    out = []

    def const(name: str, arr: np.ndarray) -> str:
        full = f"{tag}/{name}"
        graph.initializer.append(numpy_helper.from_array(arr, full))
        return full

    def node(op: str, ins: list[str], name: str, **kw) -> str:
        o = f"{tag}/{name}"
        out.append(helper.make_node(op, ins, [o], name=o, **kw))
        return o

    three_d = len(qs) == 3
    if three_d:  # (B, S, H * dh): split heads first
        hq, hk = a.get("q_num_heads", 0), a.get("kv_num_heads", 0)
        if not hq or not hk:
            raise UnsupportedOpError(f"{where}: 3-D inputs need q_num_heads and kv_num_heads")
        if hq != hk:
            raise UnsupportedOpError(f"{where}: grouped-query attention (q_num_heads != kv_num_heads) is not supported")
        dh = qs[-1] // hq
        split = const("split_shape", np.array([0, 0, hq, -1], np.int64))
        q = node("Transpose", [node("Reshape", [q, split], "q4")], "qh", perm=[0, 2, 1, 3])
        k = node("Transpose", [node("Reshape", [k, split], "k4")], "kh", perm=[0, 2, 1, 3])
        v = node("Transpose", [node("Reshape", [v, split], "v4")], "vh", perm=[0, 2, 1, 3])
    else:
        dh = qs[-1]
        ks = shapes.get(k)
        if ks is not None and len(ks) == 4 and qs[1] is not None and ks[1] is not None and qs[1] != ks[1]:
            raise UnsupportedOpError(f"{where}: grouped-query attention (fewer key/value heads) is not supported")
    scale = a.get("scale", 1.0 / math.sqrt(dh))
    s = node("MatMul", [q, node("Transpose", [k], "kt", perm=[0, 1, 3, 2])], "scores")
    s = node("Mul", [s, const("scale", np.array(scale, np.float32))], "scaled")
    if mask:
        m = mask
        mt = next((i for i in graph.initializer if i.name == mask), None)
        if mt is not None and mt.data_type == onnx.TensorProto.BOOL:
            m = const("mask_bias", np.where(numpy_helper.to_array(mt), 0.0, -np.inf).astype(np.float32))
        elif mt is None and any(vi.name == mask and vi.type.tensor_type.elem_type == onnx.TensorProto.BOOL
                                for vi in list(graph.input) + list(graph.value_info)):
            m = node("Where", [mask, const("zero", np.array(0.0, np.float32)),
                               const("ninf", np.array(-np.inf, np.float32))], "mask_bias")
        s = node("Add", [s, m], "biased")
    if a.get("is_causal", 0):
        nq, nk = qs[-2] if not three_d else qs[1], (shapes.get(k) or [None, None])[-2 if not three_d else 1]
        if nq is None or nk is None:
            raise UnsupportedOpError(f"{where}: is_causal needs static sequence lengths")
        causal = np.triu(np.full((nq, nk), -np.inf, np.float32), 1 + nk - nq) if nk >= nq else None
        if causal is None:
            raise UnsupportedOpError(f"{where}: is_causal with more queries than keys is not supported")
        s = node("Add", [s, const("causal", causal)], "causal_biased")
    p = node("Softmax", [s], "probs", axis=-1)
    y = node("MatMul", [p, v], "context")
    if three_d:
        y = node("Reshape", [node("Transpose", [y], "merge", perm=[0, 2, 1, 3]),
                             const("merge_shape", np.array([0, 0, -1], np.int64))], "merged")
    out.append(helper.make_node("Identity", [y], [n.output[0]], name=f"{tag}/out"))
    return out
