"""Memory figures for the report and bench/: per-node live bytes, peak, bounds."""

from __future__ import annotations

from dataclasses import dataclass

from toolchain.ir.graph import Graph
from toolchain.memory.lifetimes import Lifetimes


@dataclass(frozen=True)
class NodeMemory:
    live_bytes: int  # bytes of distinct buffers live while the node runs
    live_tensors: tuple[str, ...]


def node_memory(g: Graph, lt: Lifetimes) -> list[NodeMemory]:
    # buffers by first step; a sweep keeps the live ones (not every buffer for every node)
    starting: dict[int, list[int]] = {}
    for k, b in enumerate(lt.buffers):
        starting.setdefault(max(b.start, 0), []).append(k)
    active: list[int] = []  # indices into lt.buffers, kept in that order
    out = []
    for i in range(len(g.nodes)):
        active = sorted([k for k in active if lt.buffers[k].end >= i] + starting.get(i, []))
        live = [lt.buffers[k] for k in active if lt.buffers[k].start <= i <= lt.buffers[k].end
                and lt.buffers[k].bytes_at(i)]
        names = tuple(t for b in live for t in b.tensors if lt.tensor_range[t][0] <= i <= lt.tensor_range[t][1])
        out.append(NodeMemory(sum(b.bytes_at(i) for b in live), names))
    return out


def naive_bytes(g: Graph) -> int:
    """Every activation in its own buffer, no reuse."""
    acts = set(g.inputs) | {o for n in g.nodes for o in n.outputs if o}
    return sum(g.tensors[t].nbytes for t in acts)


def op_by_op_bound(g: Graph) -> int:
    """Max over nodes of its runtime inputs + outputs: no op-by-op plan can go below it."""
    best = sum(g.tensors[t].nbytes for t in g.inputs)
    for n in g.nodes:
        names = {t for t in list(n.inputs) + list(n.outputs) if t and not g.tensors[t].is_const}
        best = max(best, sum(g.tensors[t].nbytes for t in names))
    return best
