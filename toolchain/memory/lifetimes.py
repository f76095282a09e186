"""From a scheduled Graph to arena buffers: live ranges and declared aliases.

Steps are node indices in schedule order. A tensor is live from the step that writes it
(graph inputs: step -1) to the last step that reads it (graph outputs: one past the last
node). Tensors that share memory form one buffer:

- a *view* (Reshape, Flatten, ...) is its input's bytes under another shape: always shared;
- an *in-place* op (element-wise, Softmax, LayerNorm) writes over an input whose life ends at
  that node, when the input is read element for element (not broadcast) and is neither a
  graph input nor a graph output.

Every alias is recorded with its reason so the checker can re-derive its legality.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from toolchain.ir.graph import Graph, Node
from toolchain.ops import REGISTRY


@dataclass(frozen=True)
class Alias:
    tensor: str  # the output that reuses ...
    source: str  # ... this input's memory
    node: str
    kind: str  # "view" or "inplace"


@dataclass
class Buffer:
    id: int
    size: int  # bytes
    start: int  # first step live
    end: int  # last step live (inclusive)
    tensors: list[str] = field(default_factory=list)

    def overlaps_in_time(self, other: "Buffer") -> bool:
        return self.start <= other.end and other.start <= self.end


@dataclass
class Lifetimes:
    buffers: list[Buffer]
    tensor_buffer: dict[str, int]  # tensor -> buffer id
    tensor_range: dict[str, tuple[int, int]]
    aliases: list[Alias]
    steps: int


def tensor_ranges(g: Graph) -> dict[str, tuple[int, int]]:
    n = len(g.nodes)
    first: dict[str, int] = {name: -1 for name in g.inputs}
    last: dict[str, int] = {name: -1 for name in g.inputs}
    for i, node in enumerate(g.nodes):
        for o in filter(None, node.outputs):
            first[o] = i
            last[o] = i  # written at i even if nobody reads it
        for name in node.inputs:
            if name and not g.tensors[name].is_const:
                last[name] = i
    for name in g.outputs:
        if not g.tensors[name].is_const:
            last[name] = n
    return {name: (first[name], last[name]) for name in first}


def inplace_candidates(node: Node, g: Graph) -> list[str]:
    """Inputs of `node` that its output may overwrite (same shape, read element-wise)."""
    op = REGISTRY.get(node.op_type)
    if op is None or not op.inplace or len(node.outputs) != 1:
        return []
    out = g.tensors[node.outputs[0]]
    data = node.inputs[:2] if node.op_type in ("Add", "Sub", "Mul", "Div", "Pow", "Max", "Min") else node.inputs[:1]
    return [i for i in data if i and not g.tensors[i].is_const and g.tensors[i].shape == out.shape]


def compute_lifetimes(g: Graph, inplace: bool = True) -> Lifetimes:
    rng = tensor_ranges(g)
    parent: dict[str, str] = {}

    def root(t: str) -> str:
        while t in parent:
            t = parent[t]
        return t

    members: dict[str, list[str]] = {t: [t] for t in rng}
    group_end: dict[str, int] = {t: rng[t][1] for t in rng}
    pinned = set(g.inputs) | set(g.outputs)  # groups holding these are never overwritten
    group_pinned: dict[str, bool] = {t: t in pinned for t in rng}
    aliases: list[Alias] = []

    def join(out: str, src: str, node: Node, kind: str) -> None:
        r = root(src)
        parent[out] = r
        members[r].extend(members.pop(out))
        group_end[r] = max(group_end[r], group_end.pop(out))
        group_pinned[r] = group_pinned[r] or group_pinned.pop(out)
        aliases.append(Alias(out, src, node.name, kind))

    for i, node in enumerate(g.nodes):
        op = REGISTRY.get(node.op_type)
        if op is not None and op.view:
            src = node.inputs[0]
            if not g.tensors[src].is_const:
                join(node.outputs[0], src, node, "view")
            continue
        if not inplace:
            continue
        for src in inplace_candidates(node, g):
            r = root(src)
            # The whole group must be dead after this node, and must not be a graph input or output.
            if group_end[r] == i and not group_pinned[r] and not group_pinned[node.outputs[0]]:
                join(node.outputs[0], src, node, "inplace")
                break

    buffers: list[Buffer] = []
    tensor_buffer: dict[str, int] = {}
    for r, names in members.items():
        start = min(rng[t][0] for t in names)
        end = max(rng[t][1] for t in names)
        size = max(g.tensors[t].nbytes for t in names)
        b = Buffer(len(buffers), size, start, end, sorted(names))
        buffers.append(b)
        for t in names:
            tensor_buffer[t] = b.id
    return Lifetimes(buffers, tensor_buffer, rng, aliases, len(g.nodes))
