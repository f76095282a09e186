"""From a scheduled Graph to arena buffers: live ranges and declared aliases.

Steps are node indices in schedule order. A tensor is live from the step that writes it
(graph inputs: step -1) to the last step that reads it (graph outputs: one past the last
node). Tensors that share memory form one buffer:

- a *view* (Reshape, Flatten, ...) is its input's bytes under another shape: always shared;
- an *in-place* op (element-wise, Softmax, LayerNorm, a residual epilogue) writes over an
  input whose life ends at that node, read element for element (same shape, not broadcast);
- an *overwrite* (token overwriting, MCUFormer): a token-wise op writes each output row over
  input rows it has finished reading (TokenChain, PatchEmbed), when the op says the layout
  allows it.

Graph outputs are never overwritten. Graph inputs are overwritten only when the caller lets
the model consume its input (`consume_inputs`): then the input bytes are dead after use.

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
    """Memory that tensors share from one base offset. Its footprint can change over time:
    each segment (first step, last step, bytes) is one member tensor, all starting at the
    base. A 150 KB input overwritten by 25 KB of tokens frees the other 125 KB afterwards."""

    id: int
    size: int  # bytes: the largest segment
    start: int  # first step live
    end: int  # last step live (inclusive)
    tensors: list[str] = field(default_factory=list)
    segments: list[tuple[int, int, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.segments:
            self.segments = [(self.start, self.end, self.size)]

    def overlaps_in_time(self, other: "Buffer") -> bool:
        return self.start <= other.end and other.start <= self.end

    def bytes_at(self, step: int) -> int:
        return max((s for a, b, s in self.segments if a <= step <= b), default=0)


SCRATCH = "#scratch"  # pseudo-tensor name prefix of a node's kernel scratch: "#scratch<i>"


@dataclass
class Lifetimes:
    buffers: list[Buffer]
    tensor_buffer: dict[str, int]  # tensor -> buffer id
    tensor_range: dict[str, tuple[int, int]]
    aliases: list[Alias]
    steps: int
    consume_inputs: bool = False
    scratch: dict[int, int] = field(default_factory=dict)  # node index -> scratch bytes


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


def compute_lifetimes(g: Graph, inplace: bool = True, overwrite: bool = True,
                      consume_inputs: bool = False, scratch: dict[int, int] | None = None,
                      out_of_place: frozenset[str] = frozenset()) -> Lifetimes:
    """out_of_place: names of nodes whose "overwrite" alias is not taken (toolchain.prefer
    keeps a conv out of place where its faster kernel fits the RAM budget)."""
    rng = tensor_ranges(g)
    parent: dict[str, str] = {}

    def root(t: str) -> str:
        while t in parent:
            t = parent[t]
        return t

    members: dict[str, list[str]] = {t: [t] for t in rng}
    group_end: dict[str, int] = {t: rng[t][1] for t in rng}
    pinned = set(g.outputs) | (set() if consume_inputs else set(g.inputs))  # never overwritten
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
        if op is None:
            continue
        for src, kind in op.alias_candidates(node.params, node, g):
            if not (inplace if kind == "inplace" else overwrite):
                continue
            if kind == "overwrite" and (node.name in out_of_place or not op.overwrite_ok(node.params, node, g)):
                continue
            r = root(src)
            # The whole group must be dead after this node and must not be pinned.
            if group_end[r] == i and not group_pinned[r] and not group_pinned[node.outputs[0]]:
                join(node.outputs[0], src, node, kind)
                break

    buffers: list[Buffer] = []
    tensor_buffer: dict[str, int] = {}
    # an input its reader takes by rows (ops/stream.py) never exists whole: no buffer
    streamed = {n.inputs[0] for n in g.nodes if getattr(REGISTRY.get(n.op_type), "streams_input", False)}
    for r, names in members.items():
        if r in streamed:
            continue
        segs = [(rng[t][0], rng[t][1], g.tensors[t].nbytes) for t in sorted(names)]
        b = Buffer(len(buffers), max(s for _, _, s in segs), min(a for a, _, _ in segs),
                   max(e for _, e, _ in segs), sorted(names), segs)
        buffers.append(b)
        for t in names:
            tensor_buffer[t] = b.id
    # the streamed input is in no buffer and lives nowhere in the arena: no range either
    rng = {t: r for t, r in rng.items() if t in tensor_buffer}
    lt = Lifetimes(buffers, tensor_buffer, rng, aliases, len(g.nodes), consume_inputs)
    return with_scratch(lt, scratch or {})


def with_scratch(lt: Lifetimes, scratch: dict[int, int]) -> Lifetimes:
    """lt plus one buffer per node's kernel scratch, live during that node only. Aliases do not
    depend on scratch, so kernels can be chosen from lt.aliases before their scratch is known."""
    buffers, tensor_buffer, rng = list(lt.buffers), dict(lt.tensor_buffer), dict(lt.tensor_range)
    for i, nbytes in sorted(scratch.items()):
        if nbytes > 0:
            name = f"{SCRATCH}{i}"
            rng[name] = (i, i)
            buffers.append(Buffer(len(buffers), nbytes, i, i, [name]))
            tensor_buffer[name] = buffers[-1].id
    return Lifetimes(buffers, tensor_buffer, rng, list(lt.aliases), lt.steps, lt.consume_inputs,
                     {**lt.scratch, **scratch})
