"""Schedule order: a different topological order of the same graph can lower the peak.

`memory_aware_order` is a greedy list scheduler: among the nodes whose inputs are ready it runs
the one that grows live memory the least (its output bytes minus the bytes of inputs it is the
last reader of), ties broken by the original position, so chains stay together. The compiler
plans both orders and keeps the smaller arena; the report shows both.
"""

from __future__ import annotations

from toolchain.ir.graph import Graph, Node


def memory_aware_order(g: Graph) -> Graph:
    pos = {id(n): i for i, n in enumerate(g.nodes)}
    producers = g.producers()
    readers: dict[str, int] = {}
    for n in g.nodes:
        for t in set(i for i in n.inputs if i):
            readers[t] = readers.get(t, 0) + 1
    pending = {id(n): len({producers[t].name for t in n.inputs if t in producers}) for n in g.nodes}
    users: dict[str, list[Node]] = {}
    for n in g.nodes:
        for p in {producers[t].name for t in n.inputs if t in producers}:
            users.setdefault(p, []).append(n)
    ready = [n for n in g.nodes if pending[id(n)] == 0]
    order: list[Node] = []

    def growth(n: Node) -> int:
        out = sum(g.tensors[o].nbytes for o in n.outputs if o)
        freed = sum(g.tensors[t].nbytes for t in set(i for i in n.inputs if i)
                    if not g.tensors[t].is_const and readers.get(t) == 1 and t not in g.outputs)
        return out - freed

    while ready:
        n = min(ready, key=lambda x: (growth(x), pos[id(x)]))
        ready.remove(n)
        order.append(n)
        for t in set(i for i in n.inputs if i):
            readers[t] -= 1
        for u in users.get(n.name, []):
            pending[id(u)] -= 1
            if pending[id(u)] == 0:
                ready.append(u)
    assert len(order) == len(g.nodes), "graph has a cycle"
    return Graph(g.name, g.tensors, order, g.inputs, g.outputs, g.source)
