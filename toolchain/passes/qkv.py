"""merge_shared_linears: per-token linears that read one tensor and feed only fused attentions
become one linear whose output columns are their outputs side by side.

Hugging Face and Keras export q, k and v as three Linears on one LayerNorm output; left apart,
each becomes a token chain that recomputes the LayerNorm and streams the input rows again. One
concatenated linear (W = [Wq | Wk | Wv], bias likewise) computes the LayerNorm once, and the
attention reads q, k and v out of its rows through its offsets and row strides, as it already
does for timm's fused qkv. Each output column is the same dot product as before, so the numbers
change by nothing but the kernels' blocking.

Only outputs read by FusedAttention's q/k/v inputs are merged: another reader would need a
strided view of the merged tensor that its kernel may not take.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from toolchain.ir.graph import DType, Graph, Node, Tensor
from toolchain.ops.transformer import AttentionParams, attention_layout
from toolchain.passes.fold import _const, _copy, _fresh


def _linear(g: Graph, n: Node) -> tuple[int, int] | None:
    """(in, out) widths of a MatMul by a constant 2-D matrix (plus a constant bias), the form
    fuse_token_chains takes as a linear step."""
    if n.op_type != "MatMul" or not n.params.matmul or n.params.alpha != 1.0 or len(n.inputs) < 2:
        return None
    w, x = g.tensors[n.inputs[1]], g.tensors[n.inputs[0]]
    if w.data is None or len(w.shape) != 2 or len(x.shape) < 2 or x.data is not None:
        return None
    b = n.inputs[2] if len(n.inputs) > 2 else ""
    if b and (g.tensors[b].data is None or g.tensors[b].size != w.shape[1] or n.params.beta != 1.0):
        return None
    return w.shape[0], w.shape[1]


def _attention_only(g: Graph, users: dict[str, list[Node]], t: str, width: int) -> bool:
    """t is read only as q, k or v of attentions, in whole rows of its own (a row stride that
    is a multiple of its width), so the reads map onto rows of a wider tensor."""
    us = users.get(t, [])
    if t in g.outputs or not us:
        return False
    for u in us:
        if u.op_type != "FusedAttention" or t not in u.inputs[:3] or t in u.inputs[3:]:
            return False
        strides = attention_layout(u.params, [g.tensors[i] for i in u.inputs])[3]
        if any(u.inputs[i] == t and strides[i] % width for i in range(3)):
            return False
    return True


def merge_shared_linears(g: Graph) -> Graph:
    users = g.consumers()
    groups: dict[str, list[Node]] = {}
    for n in g.nodes:
        widths = _linear(g, n)
        if widths is not None and _attention_only(g, users, n.outputs[0], widths[1]):
            groups.setdefault(n.inputs[0], []).append(n)
    tensors = dict(g.tensors)
    merged: dict[int, Node | None] = {}  # id(old linear) -> the merged node at the first, None after
    where: dict[str, tuple[str, int, int, int]] = {}  # old output -> (merged output, column, width, total)
    for x, lins in groups.items():
        # one activation for all columns; a different one would need a per-column epilogue
        lins = [n for n in lins if n.params.act == lins[0].params.act]
        if len(lins) < 2:
            continue
        ws = [tensors[n.inputs[1]].data.astype(np.float32) for n in lins]
        total = sum(w.shape[1] for w in ws)
        bs = [tensors[n.inputs[2]].data.reshape(-1).astype(np.float32) if len(n.inputs) > 2 and n.inputs[2]
              else np.zeros(w.shape[1], np.float32) for n, w in zip(lins, ws)]
        name = f"{lins[0].name}/merged"
        w = _const(tensors, f"{name}/w", np.ascontiguousarray(np.concatenate(ws, axis=1)))
        ins = [x, w]
        if any(len(n.inputs) > 2 and n.inputs[2] for n in lins):
            ins.append(_const(tensors, f"{name}/bias", np.concatenate(bs)))
        out = _fresh(tensors, f"{lins[0].outputs[0]}#merged")
        tensors[out] = Tensor(out, tensors[x].shape[:-1] + (total,), DType.FLOAT32)
        node = Node(name, "MatMul", ins, [out], replace(lins[0].params, beta=1.0),
                    [o for n in lins for o in n.origin])
        col = 0
        for k, (n, wk) in enumerate(zip(lins, ws)):
            merged[id(n)] = node if k == 0 else None
            where[n.outputs[0]] = (out, col, wk.shape[1], total)
            del tensors[n.outputs[0]]
            col += wk.shape[1]
    if not where:
        return g
    nodes = []
    for n in g.nodes:
        if id(n) in merged:
            if merged[id(n)] is not None:
                nodes.append(merged[id(n)])
        elif n.op_type == "FusedAttention" and any(i in where for i in n.inputs[:3]):
            nodes.append(_reread(g, n, where))
        else:
            nodes.append(n)
    return _copy(g, nodes, tensors)


def _reread(g: Graph, n: Node, where: dict[str, tuple[str, int, int, int]]) -> Node:
    """The attention n reading each merged input at its columns of the merged rows."""
    p: AttentionParams = n.params
    batch, n_q, n_kv, strides = attention_layout(p, [g.tensors[i] for i in n.inputs])
    ins, offs, sts = list(n.inputs), list(p.offsets), list(strides)
    for i in range(3):
        if ins[i] not in where:
            continue
        out, col, width, total = where[ins[i]]
        row, c = divmod(p.offsets[i], width)
        ins[i], offs[i], sts[i] = out, row * total + col + c, sts[i] // width * total
    # n_q, n_kv, batch and the output shape pinned: the defaults read them off input 0's shape
    out_shape = p.out_shape or g.tensors[n.outputs[0]].shape
    params = replace(p, n_q=n_q, n_kv=n_kv, batch=batch, offsets=tuple(offs), strides=tuple(sts),
                     out_shape=out_shape)
    return Node(n.name, n.op_type, ins, list(n.outputs), params, list(n.origin))
