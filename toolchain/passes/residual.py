"""Residual fusion for CNNs: Conv -> Add(conv_out, skip) [with the Add's fused activation]
becomes one Conv that takes the skip as input 3 (ConvParams.residual) and computes
y = act(conv(x) + b + skip). Its output may take the skip's buffer in place
(Conv.alias_candidates), so a ResNet block needs its input, its middle map and a small tile
rather than three full maps, and the Add's pass over two maps disappears.

Rewrites only when the conv output has one reader (the Add), is not a graph output, has no
activation of its own, and the Add does not broadcast.
"""

from __future__ import annotations

from dataclasses import replace

from toolchain.ir.graph import Graph, Node
from toolchain.ops.conv import ConvParams
from toolchain.passes.patterns import _Matcher, _other, _rewrite


def fuse_residual(g: Graph) -> Graph:
    while True:
        m = _Matcher(g)
        for add in g.nodes:
            hit = _match_residual(g, m, add) if add.op_type == "Add" else None
            if hit is not None:
                g = hit
                break
        else:
            return g


def _fusable(g: Graph, m: _Matcher, add: Node, t: str) -> Node | None:
    """The conv producing Add input t, if the Add can become its epilogue."""
    conv = m.producer(t, "Conv")
    if conv is None or len(conv.inputs) < 2 or len(m.users.get(t, [])) != 1 or t in g.outputs:
        return None
    p: ConvParams = conv.params
    if p.residual or p.act.kind != "NONE":
        return None
    skip = g.tensors[_other(add, t)]
    out = g.tensors[add.outputs[0]]
    if skip.name == t or skip.is_const or not (skip.shape == g.tensors[t].shape == out.shape):
        return None
    return conv


def _match_residual(g: Graph, m: _Matcher, add: Node) -> Graph | None:
    if len(add.inputs) != 2 or len([o for o in add.outputs if o]) != 1:
        return None
    convs = [c for c in (_fusable(g, m, add, t) for t in add.inputs) if c is not None]
    if not convs:
        return None
    pos = {id(n): i for i, n in enumerate(g.nodes)}  # only on a hit: O(n) per Add is O(n^2)
    # Both operands may be convs (a projection shortcut): fuse the later one, so the earlier
    # (the shortcut) is the skip and the fused node, placed at the Add, does not keep the
    # block's input alive any longer than before.
    conv = max(convs, key=lambda c: pos[id(c)])
    skip = _other(add, conv.outputs[0])
    bias = conv.inputs[2] if len(conv.inputs) > 2 else ""
    node = Node(f"{conv.name}/residual", "Conv", [conv.inputs[0], conv.inputs[1], bias, skip], list(add.outputs),
                replace(conv.params, act=add.params.act, residual=True), conv.origin + add.origin)
    return _rewrite(g, [conv, add], add, node, dict(g.tensors))
