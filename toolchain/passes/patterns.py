"""Recognise the decomposed LayerNorm and GELU that exporters emit at older opsets.

LayerNorm:  m = ReduceMean(x); d = Sub(x, m); v = ReduceMean(Pow(d, 2)); s = Sqrt(Add(v, eps));
            y = Div(d, s) [-> Mul(gamma) -> Add(beta)]
GELU:       y = Mul(Mul(x, Add(Erf(Div(x, sqrt 2)), 1)), 0.5)   (the 0.5 may come first)

One fused node replaces each, so the intermediates never take arena space.
"""

from __future__ import annotations

import math

import numpy as np

from toolchain.ir.graph import Graph, Node
from toolchain.ops.elementwise import Act, BinaryParams, UnaryParams
from toolchain.ops.norm import LayerNormParams
from toolchain.passes.fold import _const, _copy


def _scalar(g: Graph, name: str) -> float | None:
    t = g.tensors.get(name)
    if t is None or t.data is None or t.size != 1:
        return None
    return float(np.asarray(t.data).reshape(-1)[0])


def _plain(chain: list[Node]) -> bool:
    """No binary in the chain carries a fused activation (it would change the value)."""
    return all(n.params.act.kind == "NONE" for n in chain if isinstance(n.params, BinaryParams))


def _other(n: Node, name: str) -> str:
    return n.inputs[1] if n.inputs[0] == name else n.inputs[0]


class _Matcher:
    def __init__(self, g: Graph) -> None:
        self.g = g
        self.users = g.consumers()
        self.prod = g.producers()

    def only_user(self, t: str, op_type: str) -> Node | None:
        us = self.users.get(t, [])
        if len(us) != 1 or t in self.g.outputs or us[0].op_type != op_type:
            return None
        return us[0]

    def producer(self, t: str, op_type: str) -> Node | None:
        p = self.prod.get(t)
        return p if p is not None and p.op_type == op_type else None


def _rewrite(g: Graph, remove: list[Node], anchor: Node, new: Node, tensors: dict) -> Graph:
    drop = {id(n) for n in remove}
    nodes = []
    for n in g.nodes:
        if n is anchor:
            nodes.append(new)
        elif id(n) not in drop:
            nodes.append(n)
    for n in remove:
        for o in n.outputs:
            if o not in new.outputs:
                tensors.pop(o, None)
    return _copy(g, nodes, tensors)


def fuse_layernorm(g: Graph) -> Graph:
    while True:
        m = _Matcher(g)
        for mean in g.nodes:
            if mean.op_type != "ReduceMean":
                continue
            hit = _match_layernorm(g, m, mean)
            if hit is not None:
                g = hit
                break
        else:
            return g


def _match_layernorm(g: Graph, m: _Matcher, mean: Node) -> Graph | None:
    x = mean.inputs[0]
    rank = len(g.tensors[x].shape)
    axes = mean.params.axes
    if not mean.params.keepdims or not axes or list(axes) != list(range(rank - len(axes), rank)):
        return None
    subs = [u for u in m.users.get(mean.outputs[0], []) if u.op_type == "Sub" and u.inputs == [x, mean.outputs[0]]]
    if len(subs) != 1 or len(m.users[mean.outputs[0]]) != 1:
        return None
    sub = subs[0]
    d = sub.outputs[0]
    d_users = m.users.get(d, [])
    pow_ = next((u for u in d_users if u.op_type == "Pow" and u.inputs[0] == d and _scalar(g, u.inputs[1]) == 2.0), None)
    div = next((u for u in d_users if u.op_type == "Div" and u.inputs[0] == d), None)
    if pow_ is None or div is None or len(d_users) != 2 or d in g.outputs:
        return None
    var = m.only_user(pow_.outputs[0], "ReduceMean")
    if var is None or var.params.axes != axes or not var.params.keepdims:
        return None
    add = m.only_user(var.outputs[0], "Add")
    if add is None:
        return None
    eps = _scalar(g, _other(add, var.outputs[0]))
    sqrt = m.only_user(add.outputs[0], "Sqrt")
    if eps is None or sqrt is None or div.inputs[1] != sqrt.outputs[0] or len(m.users[sqrt.outputs[0]]) != 1:
        return None
    chain = [mean, sub, pow_, var, add, sqrt, div]
    if not _plain(chain):
        return None
    cols = int(np.prod(g.tensors[x].shape[rank - len(axes):]))
    tensors = dict(g.tensors)
    out, gamma, beta = div.outputs[0], "", ""
    mul = m.only_user(out, "Mul")
    if mul is not None and mul.params.act.kind == "NONE":
        c = g.tensors[_other(mul, out)].data
        if c is not None and c.size == cols:
            gamma = _const(tensors, f"{mul.name}/gamma", c.reshape(-1).astype(np.float32))
            chain.append(mul)
            out = mul.outputs[0]
            badd = m.only_user(out, "Add")
            if badd is not None and badd.params.act.kind == "NONE":
                c = g.tensors[_other(badd, out)].data
                if c is not None and c.size == cols:
                    beta = _const(tensors, f"{badd.name}/beta", c.reshape(-1).astype(np.float32))
                    chain.append(badd)
                    out = badd.outputs[0]
    ins = [x, gamma or "", beta or ""]
    while ins and not ins[-1]:
        ins.pop()
    node = Node(f"{mean.name}/layernorm", "LayerNormalization", ins, [out],
                LayerNormParams(rank - len(axes), eps), [o for n in chain for o in n.origin])
    return _rewrite(g, chain, chain[-1], node, tensors)


def fuse_gelu(g: Graph) -> Graph:
    while True:
        m = _Matcher(g)
        for div in g.nodes:
            hit = _match_gelu(g, m, div) if div.op_type == "Div" else None
            if hit is not None:
                g = hit
                break
        else:
            return g


def _match_gelu(g: Graph, m: _Matcher, div: Node) -> Graph | None:
    x = div.inputs[0]
    k = _scalar(g, div.inputs[1])
    if k is None or abs(k - math.sqrt(2)) > 1e-4:
        return None
    erf = m.only_user(div.outputs[0], "Erf")
    add = m.only_user(erf.outputs[0], "Add") if erf else None
    if add is None or _scalar(g, _other(add, erf.outputs[0])) != 1.0:
        return None
    mul1 = m.only_user(add.outputs[0], "Mul")
    if mul1 is None:
        return None
    half = _other(mul1, add.outputs[0])
    if _scalar(g, half) == 0.5:  # 0.5 * (1 + erf) first, then * x
        mul2 = m.only_user(mul1.outputs[0], "Mul")
        ok = mul2 is not None and _other(mul2, mul1.outputs[0]) == x
    else:  # x * (1 + erf), then * 0.5
        mul2 = m.only_user(mul1.outputs[0], "Mul")
        ok = half == x and mul2 is not None and _scalar(g, _other(mul2, mul1.outputs[0])) == 0.5
    if not ok:
        return None
    chain = [div, erf, add, mul1, mul2]
    if not _plain(chain):
        return None
    node = Node(f"{div.name}/gelu", "Gelu", [x], list(mul2.outputs), UnaryParams(Act("GELU")),
                [o for n in chain for o in n.origin])
    return _rewrite(g, chain, mul2, node, dict(g.tensors))
