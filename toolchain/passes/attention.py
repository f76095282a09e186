"""Attention matched by meaning: softmax(scale * Q K^T [+ constant bias]) V becomes one
FusedAttention, whatever movement ops produce Q, K and V and consume the result.

Anchored at each last-axis Softmax, the pass walks back to the scores MatMul (through scalar
Mul/Div and at most one Add of a constant), then asks views.trace what Q (B, H, N, dh), K^T
(B, H, dh, N) and V (B, H, N, dh) are views of. A head-split token-major source has unit stride
within a head and stride dh between heads; its row stride and start offset become the fused
op's strides/offsets, so one fused qkv tensor (timm, torch.nn's in_proj) is read in place, and
three separate Linears (Hugging Face) or Keras's Einsum-derived transposes all land on the same
node. The head merge after P V is recognised the same way, from its index map.
"""

from __future__ import annotations

import numpy as np

from toolchain.ir.graph import Graph, Node
from toolchain.ops import REGISTRY
from toolchain.ops.transformer import AttentionParams
from toolchain.passes.fold import _const
from toolchain.passes.patterns import _Matcher, _other, _rewrite, _scalar
from toolchain.passes.views import View, drop_dead, forward, trace


def _scaled(g: Graph, m: _Matcher, t: str) -> tuple[str, float, list[Node]]:
    """Walk back from t through Mul/Div by scalar constants; return the source and the factor."""
    scale, nodes = 1.0, []
    while True:
        n = m.producer(t, "Mul") or m.producer(t, "Div")
        if n is None or n.params.act.kind != "NONE" or len(m.users.get(t, [])) != 1 or t in g.outputs:
            return t, scale, nodes
        runtime = [i for i in n.inputs if g.tensors[i].data is None]
        if len(runtime) != 1:
            return t, scale, nodes
        other = _other(n, runtime[0])
        k = _scalar(g, other)
        if k is None or (n.op_type == "Div" and (other != n.inputs[1] or k == 0)):
            return t, scale, nodes
        scale *= k if n.op_type == "Mul" else 1.0 / k
        nodes.append(n)
        t = runtime[0]


def _unviewed(g: Graph, m: _Matcher, t: str) -> tuple[str, list[Node]]:
    """Walk back from t through single-reader pure reshapes (same element order)."""
    nodes = []
    while True:
        n = m.prod.get(t)
        if n is None or not REGISTRY.get(n.op_type).view or len(m.users.get(t, [])) != 1 or t in g.outputs:
            return t, nodes
        nodes.append(n)
        t = n.inputs[0]


def _scores(g: Graph, m: _Matcher, t: str) -> tuple[str, float, list[Node]]:
    """Walk back from t through scalar scalings and pure reshapes, in any order."""
    scale, nodes = 1.0, []
    while True:
        t, s, ns = _scaled(g, m, t)
        t, vs = _unviewed(g, m, t)
        scale, nodes = scale * s, nodes + ns + vs
        if not ns and not vs:
            return t, scale, nodes


def _source(g: Graph, m: _Matcher, t: str) -> tuple[str, np.ndarray, float, list[Node]]:
    """What t is, element for element, of a non-movement tensor: (source, index map, scale,
    scalar Mul/Div nodes crossed). Movement ops and scalar scalings may alternate."""
    idx = np.arange(g.tensors[t].size, dtype=np.int64).reshape(g.tensors[t].shape)
    scale, scalings = 1.0, []
    while True:
        t, s, ns = _scaled(g, m, t)
        scale, scalings = scale * s, scalings + ns
        tr = trace(g, t, m.prod)
        if tr is None:
            return t, idx, scale, scalings
        idx = tr.index.reshape(-1)[idx]
        t = tr.source


def _heads(idx: np.ndarray, kt: bool = False) -> tuple[int, int, int, int, int] | None:
    """(batch, heads, n, offset, row stride) of a head-split index map (B, H, N, dh), or of K^T
    (B, H, dh, N) when kt. A 3-D map is (B * H, N, dh): the first split that is a view wins."""
    if idx.ndim == 3:
        lead = idx.shape[0]
        for b in (d for d in range(1, lead + 1) if lead % d == 0):
            hit = _heads(idx.reshape((b, lead // b) + idx.shape[1:]), kt)
            if hit is not None:
                return hit
        return None
    v = View.of(idx) if idx.ndim == 4 else None
    if v is None:
        return None
    shape, st = v.shape, v.strides
    b, h = shape[0], shape[1]
    n, dh = (shape[3], shape[2]) if kt else (shape[2], shape[3])
    sn, sd = (st[3], st[2]) if kt else (st[2], st[3])
    if (dh > 1 and sd != 1) or (h > 1 and st[1] != dh) or n < 1:
        return None
    if b > 1 and st[0] != n * sn:
        return None  # the kernel steps n rows from one batch to the next
    return b, h, n, v.offset, sn if n > 1 else h * dh


def fuse_attention(g: Graph) -> Graph:
    while True:
        m = _Matcher(g)
        for sm in g.nodes:
            hit = _match(g, m, sm) if sm.op_type == "Softmax" else None
            if hit is not None:
                g = hit
                break
        else:
            return drop_dead(g)


def _match(g: Graph, m: _Matcher, sm: Node) -> Graph | None:
    shape = g.tensors[sm.inputs[0]].shape
    if sm.params.log or sm.params.flatten or sm.params.axis not in (-1, len(shape) - 1) or len(shape) < 2:
        return None
    # softmax(s1 * (s0 * Q K^T + bias)) = softmax(s1 s0 Q K^T + s1 bias)
    t, s1, post = _scores(g, m, sm.inputs[0])
    bias, s0 = None, 1.0
    a = m.producer(t, "Add")
    if a is not None and a.params.act.kind == "NONE" and len(m.users.get(t, [])) == 1 and t not in g.outputs:
        const = [i for i in a.inputs if g.tensors[i].data is not None]
        if len(const) == 1:
            try:
                bias = np.broadcast_to(g.tensors[const[0]].data.astype(np.float64) * s1, g.tensors[t].shape)
            except ValueError:
                return None
            t, s0, pre = _scores(g, m, _other(a, const[0]))
            post = post + [a] + pre
    qk = m.producer(t, "MatMul")
    if qk is None or len(qk.inputs) != 2 or qk.params.act.kind != "NONE" or len(m.users.get(t, [])) != 1:
        return None
    qsrc, qidx, s2, _ = _source(g, m, qk.inputs[0])
    ksrc, kidx, s3, _ = _source(g, m, qk.inputs[1])
    q, k = _heads(qidx), _heads(kidx, kt=True)
    # P V: the softmax output, possibly through identity views (Cast/Identity), times V.
    users = m.users.get(sm.outputs[0], [])
    if q is None or k is None or len(users) != 1 or sm.outputs[0] in g.outputs:
        return None
    chain_p: list[Node] = []  # pure reshapes (Identity, Cast, Unsqueeze...) between P and P V
    pv, p_in = users[0], sm.outputs[0]
    while REGISTRY.get(pv.op_type).view:
        nxt = m.users.get(pv.outputs[0], [])
        if len(nxt) != 1 or pv.outputs[0] in g.outputs:
            return None
        chain_p.append(pv)
        p_in, pv = pv.outputs[0], nxt[0]
    if pv.op_type != "MatMul" or pv.inputs[0] != p_in or pv.params.act.kind != "NONE" or len(pv.inputs) != 2:
        return None
    vsrc, vidx, s4, _ = _source(g, m, pv.inputs[1])
    v = _heads(vidx)
    if v is None or s4 != 1.0:
        return None
    (bq, h, nq, qoff, qst), (bk, hk, nk, koff, kst), (bv, hv, nv, voff, vst) = q, k, v
    dh = g.tensors[qk.inputs[0]].shape[-1]
    if (h, nk, bq) != (hk, nv, bk) or (h, bq) != (hv, bv) or g.tensors[pv.inputs[1]].shape[-1] != dh:
        return None
    # The head merge: the tensor after P V whose index map is (B, N, H, dh) -> P V's (B, H, N, dh).
    want = np.arange(bq * h * nq * dh).reshape(bq, h, nq, dh).transpose(0, 2, 1, 3).reshape(-1)
    merge = [c for c in forward(g, pv.outputs[0], m.users) if np.array_equal(c[1].reshape(-1), want)
             and g.tensors[c[0]].shape[-1] == h * dh]
    if not merge:
        return None
    out, _, out_nodes = merge[-1]
    if bias is not None and not np.any(bias):
        bias = None  # an all-zero mask (Hugging Face's SDPA export): the scores as they are
    tensors = dict(g.tensors)
    ins = [qsrc, ksrc, vsrc]
    if bias is not None:
        if bias.size != h * nq * nk:
            # the same bias for every image of the batch
            per_image = bias.reshape(bq, h * nq * nk)
            if not np.all(per_image == per_image[:1]):
                return None
            bias = per_image[0]
        full = bias.astype(np.float32).reshape(h, nq, nk)
        per_head = full if not np.all(full == full[:1]) else full[:1]
        ins.append(_const(tensors, f"{sm.name}/bias", np.ascontiguousarray(per_head)))
    params = AttentionParams(h, dh, s0 * s1 * s2 * s3, nq, nk, (qoff, koff, voff), (qst, kst, vst),
                             tensors[out].shape, bias is not None, bq)
    chain = [qk] + post + [sm] + chain_p + [pv] + list(out_nodes)
    node = Node(f"{sm.name}/attention", "FusedAttention", ins, [out], params, [o for x in chain for o in x.origin])
    ordered = [n for n in g.nodes if any(n is c for c in chain)]
    return _rewrite(g, ordered, ordered[-1], node, tensors)
