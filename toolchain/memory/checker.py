"""An independent check of a memory plan, run by every test that plans.

It re-derives what must hold from the graph itself, not from the planner's data structures:
two tensors that are live at the same step occupy disjoint bytes, unless one is a declared
alias of the other whose legality it re-checks (a view, or an in-place write over an input
whose life ends at that node). Every tensor lies inside the arena, aligned.
"""

from __future__ import annotations

from toolchain.ir.graph import Graph
from toolchain.memory.lifetimes import SCRATCH, Lifetimes, tensor_ranges
from toolchain.memory.planner import ALIGN, Plan
from toolchain.ops import REGISTRY


class PlanError(AssertionError):
    pass


def check_plan(g: Graph, lt: Lifetimes, plan: Plan, align: int = ALIGN) -> None:
    rng = tensor_ranges(g)
    nbytes = {t: g.tensors[t].nbytes for t in rng}
    for i, n in lt.scratch.items():  # a kernel's scratch lives during its node only
        if n > 0:
            rng[f"{SCRATCH}{i}"] = (i, i)
            nbytes[f"{SCRATCH}{i}"] = n
    off = {t: plan.offsets[b] for t, b in lt.tensor_buffer.items()}
    nodes = {n.name: n for n in g.nodes}
    step_of = {n.name: i for i, n in enumerate(g.nodes)}
    same_memory: dict[str, str] = {}  # alias -> source, each legality-checked here
    for a in lt.aliases:
        node = nodes.get(a.node)
        if node is None or a.tensor not in node.outputs or a.source not in node.inputs:
            raise PlanError(f"alias {a} does not match its node")
        op = REGISTRY.get(node.op_type)
        if a.kind == "view":
            if not op.view:
                raise PlanError(f"alias {a}: {node.op_type} is not a view")
        elif a.kind in ("inplace", "overwrite"):
            if (a.source, a.kind) not in op.alias_candidates(node.params, node, g):
                raise PlanError(f"alias {a}: {node.op_type} cannot run {a.kind} on {a.source!r}")
            if a.kind == "inplace" and g.tensors[a.source].shape != g.tensors[a.tensor].shape:
                raise PlanError(f"alias {a}: in-place over a broadcast input")
            if a.kind == "overwrite" and not op.overwrite_ok(node.params, node, g):
                raise PlanError(f"alias {a}: {node.op_type}'s output rows would land on unread input")
            if a.source in g.outputs or (a.source in g.inputs and not lt.consume_inputs):
                raise PlanError(f"alias {a}: overwrites a graph input or output")
        else:
            raise PlanError(f"alias {a}: unknown kind")
        same_memory[a.tensor] = a.source

    def group(t: str) -> str:
        while t in same_memory:
            t = same_memory[t]
        return t

    # An in-place write must be the last use of everything sharing the source's memory
    # that was written before it.
    for a in lt.aliases:
        if a.kind == "view":
            continue
        i = step_of[a.node]
        for t in rng:
            if group(t) == group(a.source) and rng[t][0] < i and rng[t][1] > i:
                raise PlanError(f"alias {a}: {t!r} shares the memory and is still read after step {i}")

    names = [t for t in rng if nbytes[t] > 0]
    for t in names:
        size = nbytes[t]
        if off[t] % align:
            raise PlanError(f"{t!r} at offset {off[t]} is not {align}-byte aligned")
        if off[t] < 0 or off[t] + size > plan.arena_bytes:
            raise PlanError(f"{t!r} [{off[t]}, {off[t] + size}) is outside the arena of {plan.arena_bytes}")
    by_start = sorted(names, key=lambda t: rng[t][0])
    for i, t in enumerate(by_start):
        s1, e1 = rng[t]
        for u in by_start[i + 1:]:
            s2, e2 = rng[u]
            if s2 > e1:
                break
            if group(t) == group(u):
                continue
            a0, a1 = off[t], off[t] + nbytes[t]
            b0, b1 = off[u], off[u] + nbytes[u]
            if a0 < b1 and b0 < a1:
                raise PlanError(f"{t!r} (steps {s1}..{e1}, bytes {a0}..{a1}) overlaps "
                                f"{u!r} (steps {s2}..{e2}, bytes {b0}..{b1})")
