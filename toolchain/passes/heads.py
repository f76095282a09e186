"""split_attention_heads: a multi-head attention between per-token linears runs in pieces of
heads (one head, or two, at a time).

An attention block keeps x (the residual), q, k and v live at once, 4 x N x D, and that sets the
arena of small ViTs once the input is streamed (the example ViT: 8,960 of its 8,960 B). Its heads
are independent: head h needs only columns h of q, k and v, and the output projection is a sum
over heads of (attention output of head h) x (rows h of Wo). So each piece of heads becomes

    q_h, k_h, v_h = LN(x) Wq[:, h] + bq[h], ...       (columns of the q/k/v linears)
    a_h           = attention(q_h, k_h, v_h)          (the piece's heads; written over q_h)
    acc_h         = a_h Wo[h, :] + acc_(h-1)          (acc_(-1) = x + bo: the residual)

The LayerNorm is computed once for all the pieces' linears (duplicate_layernorm leaves a
LayerNorm with more than three readers alone), so x is free to take the sum in place: live at a
piece are the sum, the LayerNorm output and the piece's q/k/v, 2 + 3 x group / heads tensors of
N x D instead of 4. The cost is speed (narrower GEMMs, one pass over the sum per piece), so it is
a memory-first choice (api.py's attention forms), never the default for speed.

Each output is the same dot products summed in another order (per piece, then over pieces): the
numbers move by rounding only.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from toolchain.ir.graph import DType, Graph, Node, Tensor
from toolchain.ops.elementwise import BinaryParams
from toolchain.ops.transformer import AttentionParams, attention_layout
from toolchain.passes.fold import _const, _copy, _fresh
from toolchain.passes.patterns import _other
from toolchain.passes.qkv import _linear


def _source(g: Graph, prod: dict[str, Node], users: dict[str, list[Node]], att: Node, i: int,
            rows: int) -> tuple[Node, int, list[Node]] | None:
    """(linear, first column, views between) of attention input i when it is the output rows of
    a per-token linear read by this attention only, directly or through views that keep its
    rows (torch.nn's (N, B, D) Reshape)."""
    t = att.inputs[i]
    views: list[Node] = []
    while True:
        n = prod.get(t)
        if n is None or t in g.outputs or any(u is not att and u not in views for u in users.get(t, [])):
            return None
        if n.op_type != "Reshape" or g.tensors[n.inputs[0]].shape[-1:] != g.tensors[t].shape[-1:]:
            break
        views.append(n)
        t = n.inputs[0]
    widths = _linear(g, n)
    if widths is None:
        return None
    width = widths[1]
    _, _, _, strides = attention_layout(att.params, [g.tensors[x] for x in att.inputs])
    col = att.params.offsets[i]
    if strides[i] != width or col + att.params.heads * att.params.dh > width \
            or int(np.prod(g.tensors[t].shape[:-1])) != rows:
        return None
    return n, col, views


def _residual(g: Graph, users: dict[str, list[Node]], proj: Node) -> Node | None:
    """The Add that ends the attention sub-block: proj's only reader, adding a tensor of its shape."""
    us = users.get(proj.outputs[0], [])
    if len(us) != 1 or proj.outputs[0] in g.outputs or us[0].op_type != "Add" or us[0].params.act.kind != "NONE":
        return None
    add = us[0]
    other = _other(add, proj.outputs[0])
    if g.tensors[other].data is not None or g.tensors[other].shape != g.tensors[add.outputs[0]].shape \
            or g.tensors[other].shape != g.tensors[proj.outputs[0]].shape:
        return None
    return add


def split_attention_heads(g: Graph, group: int = 1) -> Graph:
    """group: heads per piece (1: head by head; 2: pairs, between the two in memory and speed)."""
    prod, users = g.producers(), g.consumers()
    tensors = dict(g.tensors)
    drop: set[int] = set()
    at: dict[int, list[Node]] = {}  # id(the block's last node) -> the nodes that replace the block
    for att in g.nodes:
        if att.op_type != "FusedAttention" or att.params.heads <= group:
            continue
        p: AttentionParams = att.params
        batch, n_q, n_kv, _ = attention_layout(p, [g.tensors[x] for x in att.inputs])
        srcs = [_source(g, prod, users, att, i, batch * (n_q if i == 0 else n_kv)) for i in range(3)]
        outs = users.get(att.outputs[0], [])
        if any(s is None for s in srcs) or len(outs) != 1 or att.outputs[0] in g.outputs:
            continue
        proj = outs[0]
        if _linear(g, proj) is None or proj.inputs[0] != att.outputs[0] or proj.params.act.kind != "NONE" \
                or any(id(n) in drop for n, _, _ in srcs) or id(proj) in drop:  # type: ignore[misc]
            continue
        add = _residual(g, users, proj)
        # in the block's last node's place: everything it reads (the residual's views too) exists
        at[id(add if add is not None else proj)] = _heads(tensors, att, srcs, proj, add, batch, n_q, n_kv,  # type: ignore[arg-type]
                                                          group)
        drop.update(id(n) for lin, _, views in srcs for n in [lin] + views)  # type: ignore[misc]
        drop.update({id(att), id(proj)} | ({id(add)} if add is not None else set()))
    if not at:
        return g
    nodes: list[Node] = []
    for n in g.nodes:
        if id(n) in at:
            nodes += at[id(n)]
        elif id(n) not in drop:
            nodes.append(n)
    for t in {t for n in g.nodes if id(n) in drop for t in n.outputs} - \
            {t for n in nodes for t in n.outputs}:
        tensors.pop(t, None)
    return _copy(g, nodes, tensors)


def _heads(tensors: dict[str, Tensor], att: Node, srcs: list[tuple[Node, int, list[Node]]], proj: Node,
           add: Node | None, batch: int, n_q: int, n_kv: int, group: int) -> list[Node]:
    p: AttentionParams = att.params
    dh, heads = p.dh, p.heads
    wo = tensors[proj.inputs[1]].data.astype(np.float32)
    bo = tensors[proj.inputs[2]].data.reshape(-1).astype(np.float32) if len(proj.inputs) > 2 and proj.inputs[2] else None
    final = add.outputs[0] if add is not None else proj.outputs[0]
    acc = _other(add, proj.outputs[0]) if add is not None else ""
    # the score bias, (heads or 1, n_q, n_kv): each piece takes its heads' planes
    mask = tensors[att.inputs[3]].data.reshape(-1, n_q, n_kv) if p.has_bias else None
    nodes: list[Node] = []
    for h in range(0, heads, group):
        k = min(group, heads - h)  # heads in this piece
        base = f"{att.name}/head{h}" if k == 1 else f"{att.name}/heads{h}-{h + k - 1}"
        a_shape = tensors[att.outputs[0]].shape[:-1] + (k * dh,)
        qkv = []
        for i, (lin, col, _) in enumerate(srcs):
            w = tensors[lin.inputs[1]].data
            c = col + h * dh
            ins = [lin.inputs[0], _const(tensors, f"{base}/w{'qkv'[i]}", np.ascontiguousarray(w[:, c:c + k * dh]))]
            if len(lin.inputs) > 2 and lin.inputs[2]:
                b = tensors[lin.inputs[2]].data.reshape(-1)[c:c + k * dh].copy()
                ins.append(_const(tensors, f"{base}/b{'qkv'[i]}", b))
            out = _fresh(tensors, f"{base}/{'qkv'[i]}")
            tensors[out] = Tensor(out, tensors[lin.inputs[0]].shape[:-1] + (k * dh,), DType.FLOAT32)
            nodes.append(Node(f"{base}/{'qkv'[i]}", "MatMul", ins, [out], lin.params, list(lin.origin)))
            qkv.append(out)
        ins = list(qkv)
        if mask is not None:
            planes = mask[h:h + k] if mask.shape[0] > 1 else mask[:1]
            ins.append(_const(tensors, f"{base}/mask", np.ascontiguousarray(planes)))
        a = _fresh(tensors, f"{base}/attention")
        tensors[a] = Tensor(a, a_shape, DType.FLOAT32)
        hp = replace(p, heads=k, n_q=n_q, n_kv=n_kv, batch=batch, offsets=(0, 0, 0), strides=(0, 0, 0),
                     out_shape=a_shape)
        nodes.append(Node(f"{base}/attention", "FusedAttention", ins, [a], hp, list(att.origin)))
        # the piece's output x its rows of Wo (+ bo once), added to the running sum (x first)
        ins = [a, _const(tensors, f"{base}/wo", np.ascontiguousarray(wo[h * dh:(h + k) * dh]))]
        if h == 0 and bo is not None:
            ins.append(_const(tensors, f"{base}/bo", bo.copy()))
        y = _fresh(tensors, f"{base}/proj")
        tensors[y] = Tensor(y, tensors[proj.outputs[0]].shape, DType.FLOAT32)
        nodes.append(Node(f"{base}/proj", "MatMul", ins, [y], replace(proj.params, beta=1.0), list(proj.origin)))
        if not acc:
            acc = y
            continue
        s = final if h + k == heads else _fresh(tensors, f"{base}/sum")
        tensors[s] = Tensor(s, tensors[final].shape, DType.FLOAT32)
        origin = list(add.origin) if add is not None else list(proj.origin)
        nodes.append(Node(f"{base}/residual", "Add", [y, acc], [s], BinaryParams("ADD"), origin))
        acc = s  # heads > group: at least two pieces, so the last one writes `final`
    return nodes
