"""Graph -> Graph on int8 graphs: an attention's QMatMul (Q x K^T) -> [QLut] -> QSoftmax ->
QMatMul (x V) becomes one QAttention (ops/qattention.py) that runs the same kernels on blocks
of query rows, so every head's N x N scores are never live at once. Only where each
intermediate tensor has that chain as its only reader (and is no graph output): the fused op
does not keep them.

Where Q, K (or K^T) and V come from the exporters' head Transposes of [1, tokens, heads, d]
views and the output goes through the Transpose back, and those Transposes have no other
reader, the fused op takes the token layout instead (ops/qattention.py): the Transposes go."""

from __future__ import annotations

from dataclasses import replace

from toolchain.ir.graph import Graph, Node
from toolchain.ops.qattention import QAttentionParams

HEADS = (0, 2, 1, 3)  # [1, tokens, heads, d] <-> [1, heads, tokens, d]
K_T = (0, 2, 3, 1)  # [1, tokens, heads, d] -> [1, heads, d, tokens]


def fuse_qattention(g: Graph) -> Graph:
    users = g.consumers()
    prod = g.producers()

    def transpose_of(t: str, perm: tuple[int, ...]) -> Node | None:
        """The Transpose with this perm that makes t, read by nothing else, from a rank-4
        batch-1 tensor; None otherwise."""
        n = prod.get(t)
        if n is None or n.op_type != "Transpose" or tuple(n.params.perm) != perm or len(users.get(t, [])) != 1:
            return None
        src = g.tensors[n.inputs[0]]
        return n if len(src.shape) == 4 and src.shape[0] == 1 and not src.is_const and t not in g.outputs else None

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
        ins, outs, extra = [qk.inputs[0], qk.inputs[1], av.inputs[1]], list(av.outputs), []
        tq, tv = transpose_of(qk.inputs[0], HEADS), transpose_of(av.inputs[1], HEADS)
        tk = transpose_of(qk.inputs[1], HEADS if qk.params.b_trans else K_T)
        out_users = users.get(av.outputs[0], [])
        ty = out_users[0] if len(out_users) == 1 and av.outputs[0] not in g.outputs else None
        if ty is not None and (ty.op_type != "Transpose" or tuple(ty.params.perm) != HEADS):
            ty = None
        if tq and tk and tv and ty and not av.params.b_trans:
            ins = [tq.inputs[0], tk.inputs[0], tv.inputs[0]]
            outs, extra = list(ty.outputs), [tq, tk, tv, ty]
            p = replace(p, qk=replace(qk.params, b_trans=True), tokens=True)
        fused[av.name] = Node(av.name, "QAttention", ins + [lut.inputs[1] if lut else ""], outs, p,
                              [o for n in extra[:3] + chain + [av] + extra[3:] for o in n.origin])
        dropped.update(n.name for n in chain + extra)
    if not fused:
        return g
    kept = {o for n in fused.values() for o in n.outputs}
    gone = {o for n in g.nodes if n.name in dropped or n.name in fused for o in n.outputs} - kept
    nodes = [fused.get(n.name, n) for n in g.nodes if n.name not in dropped]
    tensors = {k: t for k, t in g.tensors.items() if k not in gone}
    return Graph(g.name, tensors, nodes, list(g.inputs), list(g.outputs), g.source)
