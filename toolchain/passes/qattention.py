"""Graph -> Graph on int8 graphs: an attention's QMatMul (Q x K^T) -> [QLut] -> QSoftmax ->
QMatMul (x V) becomes one QAttention (ops/qattention.py) that runs the same kernels on blocks
of query rows, so every head's N x N scores are never live at once. Only where each
intermediate tensor has that chain as its only reader (and is no graph output): the fused op
does not keep them."""

from __future__ import annotations

from toolchain.ir.graph import Graph, Node
from toolchain.ops.qattention import QAttentionParams


def fuse_qattention(g: Graph) -> Graph:
    users = g.consumers()

    def only_reader(t: str, op_type: str) -> Node | None:
        r = users.get(t, [])
        if len(r) != 1 or t in g.outputs or r[0].op_type != op_type or r[0].inputs[0] != t:
            return None
        return r[0]

    fused: dict[str, Node] = {}  # the AV MatMul's name -> the fused node
    dropped: set[str] = set()
    for qk in g.nodes:
        if qk.op_type != "QMatMul" or qk.name in dropped:
            continue
        chain = [qk]
        nxt = only_reader(qk.outputs[0], "QLut") or only_reader(qk.outputs[0], "QSoftmax")
        if nxt is not None and nxt.op_type == "QLut":
            chain.append(nxt)
            nxt = only_reader(nxt.outputs[0], "QSoftmax")
        if nxt is None:
            continue
        chain.append(nxt)
        av = only_reader(nxt.outputs[0], "QMatMul")
        if av is None or len(g.tensors[qk.outputs[0]].shape) < 2:
            continue
        lut = chain[1] if chain[1].op_type == "QLut" else None
        p = QAttentionParams(qk.params, nxt.params, av.params, lut is not None)
        fused[av.name] = Node(av.name, "QAttention", [qk.inputs[0], qk.inputs[1], av.inputs[1],
                                                      lut.inputs[1] if lut else ""],
                              list(av.outputs), p, [o for n in chain + [av] for o in n.origin])
        dropped.update(n.name for n in chain)
    if not fused:
        return g
    gone = {n.outputs[0] for n in g.nodes if n.name in dropped}
    nodes = [fused.get(n.name, n) for n in g.nodes if n.name not in dropped]
    tensors = {k: t for k, t in g.tensors.items() if k not in gone}
    return Graph(g.name, tensors, nodes, list(g.inputs), list(g.outputs), g.source)
