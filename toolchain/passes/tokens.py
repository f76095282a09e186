"""The canonical token-wise form that fuse_token_chains matches, whatever the exporter wrote:

- gemm_as_linear: Gemm(x, W^T const, bias) (torch's nn.Linear on 2-D input, the out_proj of
  nn.MultiheadAttention) becomes MatMul(x, W, bias), the per-token linear step;
- sink_views: a Reshape-like view that keeps the last (feature) dim commutes with any per-token
  op, so V -> T becomes T -> V. Views then collect after the chain instead of cutting it in
  pieces (torch.nn's (N, B, D) <-> (B, N, D) transposes of batch 1, Keras's Tensordot reshapes);
  a residual Add of a viewed chain output takes the residual through the inverse view.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from toolchain.ir.graph import DType, Graph, Node, Tensor
from toolchain.ops import REGISTRY
from toolchain.ops.elementwise import UnaryParams
from toolchain.ops.gemm import GemmParams
from toolchain.ops.shape import ViewParams
from toolchain.passes.fold import _const, _copy, _fresh


RESIDUAL_VIEW = "/residual_view"


def gemm_as_linear(g: Graph) -> Graph:
    tensors = dict(g.tensors)
    nodes = []
    for n in g.nodes:
        p = n.params
        if n.op_type == "Gemm" and not p.matmul and not p.trans_a and p.alpha == 1.0 and len(n.inputs) >= 2:
            x, b = tensors[n.inputs[0]], tensors[n.inputs[1]]
            c = tensors[n.inputs[2]] if len(n.inputs) > 2 and n.inputs[2] else None
            out_w = b.shape[0] if p.trans_b else b.shape[-1]
            bias_ok = c is None or (c.data is not None and c.size == out_w and p.beta == 1.0)
            if x.data is None and b.data is not None and len(b.shape) == 2 and len(x.shape) == 2 and bias_ok:
                w = _const(tensors, f"{n.name}/w", np.ascontiguousarray(b.data.T if p.trans_b else b.data)
                           .astype(np.float32))
                ins = [n.inputs[0], w]
                if c is not None:
                    ins.append(_const(tensors, f"{n.name}/bias", c.data.reshape(-1).astype(np.float32)))
                nodes.append(Node(n.name, "MatMul", ins, list(n.outputs),
                                  GemmParams(matmul=True, beta=1.0, act=p.act), list(n.origin)))
                continue
        nodes.append(n)
    return _copy(g, nodes, tensors)


def _token_wise(g: Graph, n: Node) -> bool:
    """An op applied to each row of the last dim alone (rows may be arranged any way)."""
    if n.op_type == "LayerNormalization":
        return n.params.axis == len(g.tensors[n.inputs[0]].shape) - 1 and len([o for o in n.outputs if o]) == 1
    if isinstance(n.params, UnaryParams):
        return True
    if n.op_type == "MatMul" and n.params.matmul and n.params.alpha == 1.0:
        w = g.tensors[n.inputs[1]]
        b = n.inputs[2] if len(n.inputs) > 2 else ""
        return (w.data is not None and len(w.shape) == 2 and len(g.tensors[n.inputs[0]].shape) >= 2
                and (not b or g.tensors[b].size == w.shape[1]))
    return False


def sink_views(g: Graph) -> Graph:
    while True:
        h = _sink_one(g)
        if h is None:
            return g
        g = h


def _sink_one(g: Graph) -> Graph | None:
    users = g.consumers()
    for v in g.nodes:
        if not REGISTRY.get(v.op_type).view or v.outputs[0] in g.outputs:
            continue
        x, y = v.inputs[0], v.outputs[0]
        xs, ys = g.tensors[x].shape, g.tensors[y].shape
        us = users.get(y, [])
        if len(us) != 1 or not xs or not ys or xs[-1] != ys[-1] or g.tensors[x].is_const:
            continue
        t = us[0]
        if t.inputs[0] == y and _token_wise(g, t) and len(xs) >= (2 if t.op_type == "MatMul" else 1):
            return _swap(g, v, t, xs)
        # (a residual view made below must not be sunk back through its Add: that would undo it)
        if (t.op_type == "Add" and t.params.act.kind == "NONE" and y in t.inputs and t.inputs[0] != t.inputs[1]
                and not v.name.endswith(RESIDUAL_VIEW)):
            r = t.inputs[1] if t.inputs[0] == y else t.inputs[0]
            if (not g.tensors[r].is_const and g.tensors[r].shape == ys == g.tensors[t.outputs[0]].shape
                    and t.outputs[0] not in g.outputs):
                return _swap_residual(g, v, t, r, xs)
    return None


def _swap(g: Graph, v: Node, t: Node, xs: tuple[int, ...]) -> Graph:
    tensors = dict(g.tensors)
    out = t.outputs[0]
    mid = _fresh(tensors, f"{out}#rows")
    tensors[mid] = Tensor(mid, xs[:-1] + (tensors[out].shape[-1],), DType.FLOAT32)
    params = replace(t.params, axis=len(xs) - 1) if t.op_type == "LayerNormalization" else t.params
    t2 = Node(t.name, t.op_type, [v.inputs[0]] + t.inputs[1:], [mid], params, list(t.origin))
    v2 = Node(v.name, "Reshape", [mid], [out], ViewParams(tensors[out].shape), list(v.origin))
    del tensors[v.outputs[0]]
    nodes = []
    for n in g.nodes:
        if n is v:
            continue
        nodes.extend([t2, v2] if n is t else [n])
    return _copy(g, nodes, tensors)


def _swap_residual(g: Graph, v: Node, add: Node, r: str, xs: tuple[int, ...]) -> Graph:
    tensors = dict(g.tensors)
    out = add.outputs[0]
    r2 = _fresh(tensors, f"{r}#rows")
    tensors[r2] = Tensor(r2, xs, DType.FLOAT32)
    mid = _fresh(tensors, f"{out}#rows")
    tensors[mid] = Tensor(mid, xs, DType.FLOAT32)
    names = {n.name for n in g.nodes}
    base = add.name.split(RESIDUAL_VIEW)[0]
    k = 0
    while f"{base}#{k}{RESIDUAL_VIEW}" in names:
        k += 1
    rv = Node(f"{base}#{k}{RESIDUAL_VIEW}", "Reshape", [r], [r2], ViewParams(xs), list(add.origin))
    add2 = Node(add.name, "Add", [v.inputs[0], r2], [mid], add.params, list(add.origin))
    v2 = Node(v.name, "Reshape", [mid], [out], ViewParams(tensors[out].shape), list(v.origin))
    del tensors[v.outputs[0]]
    nodes = []
    for n in g.nodes:
        if n is v:
            continue
        nodes.extend([rv, add2, v2] if n is add else [n])
    return _copy(g, nodes, tensors)
