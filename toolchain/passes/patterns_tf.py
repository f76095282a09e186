"""Recognise the LayerNorm and tanh GELU that TensorFlow/Keras graphs carry through tf2onnx.

LayerNorm (tf.nn.moments form):
    mean = Mean(x); d = Sub(x, mean); var = Mean(Mul(d, d)); r = Reciprocal(Sqrt(Add(var, eps)))
    m = Mul(r, gamma) (or r); y = Add(Mul(x, m), Mul(Neg(mean), m))   (beta folded away when 0)
                          or y = Add(Mul(x, m), Sub(beta, Mul(mean, m)))
    where Mean is a keepdims ReduceMean over the last axis, or a GlobalAveragePool of a rank-3
    tensor (tf2onnx's form: it averages the last axis of (N, C, L)).
GELU (tanh approximation):
    y = Mul(Mul(x, 0.5), Add(1, Tanh(Mul(sqrt(2/pi), Add(x, Mul(0.044715, Pow(x, 3)))))))

One node replaces each; every intermediate must be read only inside the pattern.
"""

from __future__ import annotations

import math

import numpy as np

from toolchain.ir.graph import Graph, Node
from toolchain.ops.elementwise import Act, UnaryParams
from toolchain.ops.norm import LayerNormParams
from toolchain.passes.fold import _const
from toolchain.passes.patterns import _Matcher, _other, _plain, _rewrite, _scalar


def _private(g: Graph, m: _Matcher, chain: list[Node], out: str) -> bool:
    """Every tensor the chain writes, except `out`, is read only by chain nodes."""
    ids = {id(n) for n in chain}
    for n in chain:
        for o in n.outputs:
            if o == out:
                continue
            if o in g.outputs or any(id(u) not in ids for u in m.users.get(o, [])):
                return False
    return _plain(chain)


def _mean_of(g: Graph, m: _Matcher, t: str) -> tuple[Node, str] | None:
    """t = mean of x over its last axis (keepdims): (node, x)."""
    n = m.prod.get(t)
    if n is None:
        return None
    x = n.inputs[0]
    rank = len(g.tensors[x].shape)
    if n.op_type == "GlobalAveragePool" and rank == 3:
        return n, x
    if n.op_type == "ReduceMean" and n.params.keepdims and list(n.params.axes or ()) in ([rank - 1], [-1]):
        return n, x
    return None


def _fuse(g: Graph, match) -> Graph:
    while True:
        m = _Matcher(g)
        for n in g.nodes:
            hit = match(g, m, n)
            if hit is not None:
                g = hit
                break
        else:
            return g


def fuse_tf_layernorm(g: Graph) -> Graph:
    return _fuse(g, _match_layernorm)


def _match_layernorm(g: Graph, m: _Matcher, y: Node) -> Graph | None:
    if y.op_type != "Add" or any(g.tensors[i].data is not None for i in y.inputs):
        return None
    for a_name in y.inputs:
        a = m.producer(a_name, "Mul")
        if a is None:
            continue
        for x in a.inputs:
            mm = _other(a, x)
            hit = _layernorm_from(g, m, y, a, x, mm, _other(y, a_name))
            if hit is not None:
                return hit
    return None


def _layernorm_from(g: Graph, m: _Matcher, y: Node, a: Node, x: str, mm: str, b_name: str) -> Graph | None:
    # m = Mul(r, gamma) or r
    gamma = None
    chain = [y, a]
    mul_g = m.producer(mm, "Mul")
    r = mm
    if mul_g is not None:
        consts = [i for i in mul_g.inputs if g.tensors[i].data is not None]
        if len(consts) == 1:
            gamma, r = g.tensors[consts[0]].data, _other(mul_g, consts[0])
            chain.append(mul_g)
    rec = m.producer(r, "Reciprocal")
    sq = m.producer(rec.inputs[0], "Sqrt") if rec is not None else None
    add = m.producer(sq.inputs[0], "Add") if sq is not None else None
    if add is None:
        return None
    var_t = next((i for i in add.inputs if g.tensors[i].data is None), None)
    eps = _scalar(g, _other(add, var_t)) if var_t else None
    var = _mean_of(g, m, var_t) if var_t else None
    if eps is None or var is None:
        return None
    prod = m.prod.get(var[1])
    if prod is None or prod.op_type != "Mul" or prod.inputs[0] != prod.inputs[1]:
        return None
    sub = m.producer(prod.inputs[0], "Sub")
    if sub is None or sub.inputs[0] != x:
        return None
    mean = _mean_of(g, m, sub.inputs[1])
    if mean is None or mean[1] != x:
        return None
    chain += [rec, sq, add, var[0], prod, sub, mean[0]]
    beta = None
    b = m.prod.get(b_name)
    if b is not None and b.op_type == "Mul" and mm in b.inputs:  # Mul(Neg(mean), m)
        neg = m.producer(_other(b, mm), "Neg")
        if neg is None or neg.inputs[0] != sub.inputs[1]:
            return None
        chain += [b, neg]
    elif b is not None and b.op_type == "Sub" and g.tensors[b.inputs[0]].data is not None:  # Sub(beta, Mul(mean, m))
        bm = m.producer(b.inputs[1], "Mul")
        if bm is None or set(bm.inputs) != {sub.inputs[1], mm}:
            return None
        beta = g.tensors[b.inputs[0]].data
        chain += [b, bm]
    else:
        return None
    out = y.outputs[0]
    d = g.tensors[x].shape[-1]
    if not _private(g, m, chain, out):
        return None
    for c in (gamma, beta):
        if c is not None and c.size != d:
            return None
    tensors = dict(g.tensors)
    ins = [x, _const(tensors, f"{y.name}/gamma", (np.ones(d, np.float32) if gamma is None
                                                   else gamma.reshape(-1).astype(np.float32)))]
    if beta is not None:
        ins.append(_const(tensors, f"{y.name}/beta", beta.reshape(-1).astype(np.float32)))
    rank = len(g.tensors[x].shape)
    node = Node(f"{y.name}/layernorm", "LayerNormalization", ins, [out], LayerNormParams(rank - 1, eps),
                [o for n in chain for o in n.origin])
    ordered = [n for n in g.nodes if any(n is c for c in chain)]
    return _rewrite(g, ordered, ordered[-1], node, tensors)


def fuse_gelu_tanh(g: Graph) -> Graph:
    return _fuse(g, _match_gelu_tanh)


def _const_mul(g: Graph, m: _Matcher, t: str, value: float) -> str | None:
    """t = Mul(value, s) (either order): s."""
    n = m.producer(t, "Mul")
    if n is None:
        return None
    for c in n.inputs:
        k = _scalar(g, c)
        if k is not None and abs(k - value) <= 1e-5 * max(1.0, abs(value)):
            return _other(n, c)
    return None


def _match_gelu_tanh(g: Graph, m: _Matcher, th: Node) -> Graph | None:
    if th.op_type != "Tanh":
        return None
    inner = _const_mul(g, m, th.inputs[0], math.sqrt(2 / math.pi))
    add = m.producer(inner, "Add") if inner else None
    if add is None:
        return None
    for x in add.inputs:
        cube = _const_mul(g, m, _other(add, x), 0.044715)
        pw = m.producer(cube, "Pow") if cube else None
        if pw is None or pw.inputs[0] != x or _scalar(g, pw.inputs[1]) != 3.0:
            continue
        one = m.only_user(th.outputs[0], "Add")
        if one is None or _scalar(g, _other(one, th.outputs[0])) != 1.0:
            return None
        y = m.only_user(one.outputs[0], "Mul")
        if y is None:
            return None
        half_t = _other(y, one.outputs[0])
        half = m.producer(half_t, "Mul")
        if half is None or _const_mul(g, m, half_t, 0.5) != x:
            return None
        chain = [half, pw, m.prod[cube], add, m.prod[inner], th, one, y]
        chain[2] = m.prod[_other(add, x)]  # the Mul(0.044715, Pow)
        chain[4] = m.prod[th.inputs[0]]  # the Mul(sqrt(2/pi), Add)
        if not _private(g, m, chain, y.outputs[0]):
            return None
        node = Node(f"{th.name}/gelu", "Gelu", [x], list(y.outputs), UnaryParams(Act("GELU_TANH")),
                    [o for n in chain for o in n.origin])
        ordered = [n for n in g.nodes if any(n is c for c in chain)]
        return _rewrite(g, ordered, ordered[-1], node, dict(g.tensors))
    return None
