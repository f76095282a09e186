"""An independent check of a memory plan, run by every test that plans.

It re-derives what must hold from the graph itself, not from the planner's data structures:
two tensors that are live at the same step occupy disjoint bytes, unless one is a declared
alias of the other whose legality it re-checks (a view, or an in-place write over an input
whose life ends at that node). Every tensor lies inside the arena, aligned.
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Callable

from toolchain.ir.graph import Graph
from toolchain.memory.lifetimes import SCRATCH, Lifetimes, tensor_ranges
from toolchain.memory.planner import ALIGN, Plan
from toolchain.ops import REGISTRY


class PlanError(AssertionError):
    pass


def check_plan(g: Graph, lt: Lifetimes, plan: Plan, align: int = ALIGN) -> None:
    rng = tensor_ranges(g)
    nbytes = {t: g.tensors[t].nbytes for t in rng}
    # a graph input read only by an op that takes it by rows (ops/stream.py) occupies nothing
    users = g.consumers()
    for t in g.inputs:
        if users.get(t) and all(getattr(REGISTRY.get(n.op_type), "streams_input", False) and n.inputs.index(t) == 0
                                for n in users[t]):
            nbytes[t] = 0
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
            # read element for element: as many elements (shapes may differ by unit dims, a
            # (1, N, d) head written over its (N, d) q); fewer would be a broadcast
            if a.kind == "inplace" and g.tensors[a.source].size != g.tensors[a.tensor].size:
                raise PlanError(f"alias {a}: in-place over a broadcast input")
            if a.kind == "overwrite" and not op.overwrite_ok(node.params, node, g):
                raise PlanError(f"alias {a}: {node.op_type}'s output rows would land on unread input")
            if a.source in g.outputs or (a.source in g.inputs and not lt.consume_inputs):
                raise PlanError(f"alias {a}: overwrites a graph input or output")
        else:
            raise PlanError(f"alias {a}: unknown kind")
        same_memory[a.tensor] = a.source

    root: dict[str, str] = {}

    def group(t: str) -> str:
        # memoised: alias chains are followed once per tensor, not once per query
        path = []
        while t in same_memory and t not in root:
            path.append(t)
            t = same_memory[t]
        r = root.get(t, t)
        for p in path:
            root[p] = r
        return r

    _check_last_writes(lt, rng, step_of, group)
    names = [t for t in rng if nbytes[t] > 0]
    for t in names:
        size = nbytes[t]
        if off[t] % align:
            raise PlanError(f"{t!r} at offset {off[t]} is not {align}-byte aligned")
        if off[t] < 0 or off[t] + size > plan.arena_bytes:
            raise PlanError(f"{t!r} [{off[t]}, {off[t] + size}) is outside the arena of {plan.arena_bytes}")
    _check_overlaps(names, rng, off, nbytes, group)


def _check_last_writes(lt: Lifetimes, rng: dict[str, tuple[int, int]], step_of: dict[str, int],
                       group: Callable[[str], str]) -> None:
    """An in-place write must be the last use of everything sharing the source's memory that
    was written before it: no tensor t of that group with start(t) < i < end(t). Per group,
    tensors sorted by start with a running max of their ends answer each alias in O(log n)."""
    members: dict[str, list[tuple[int, int, str]]] = {}
    for t, (s, e) in rng.items():
        members.setdefault(group(t), []).append((s, e, t))
    index: dict[str, tuple[list[int], list[tuple[int, str]]]] = {}
    for a in lt.aliases:
        if a.kind == "view":
            continue
        i = step_of[a.node]
        gname = group(a.source)
        if gname not in index:
            ms = sorted(members.get(gname, []))
            best: list[tuple[int, str]] = []
            for s, e, t in ms:
                best.append(max(best[-1], (e, t)) if best else (e, t))
            index[gname] = ([s for s, _, _ in ms], best)
        starts, best = index[gname]
        k = bisect.bisect_left(starts, i)  # members starting before step i
        if k and best[k - 1][0] > i:
            raise PlanError(f"alias {a}: {best[k - 1][1]!r} shares the memory and is still read after step {i}")


def _check_overlaps(names: list[str], rng: dict[str, tuple[int, int]], off: dict[str, int],
                    nbytes: dict[str, int], group: Callable[[str], str]) -> None:
    """No two tensors of different alias groups live at the same step share a byte.

    A sweep over steps: tensors enter in order of their first step and leave after their
    last; the live ones sit in a list sorted by offset, so a new tensor is compared only with
    the live tensors whose bytes could reach it (offset within the largest size below its
    end). Live tensors of different groups are disjoint (each pair was checked when the later
    one entered), which keeps that window small: O(n log n) for the graphs we plan."""
    order = sorted(names, key=lambda t: (rng[t][0], off[t], t))
    span = max((nbytes[t] for t in names), default=0)
    live: list[tuple[int, str]] = []  # (offset, tensor), sorted
    ends: list[tuple[int, int, str]] = []  # heap of (last step, offset, tensor)
    for u in order:
        s2, e2 = rng[u]
        while ends and ends[0][0] < s2:
            _, o, t = heapq.heappop(ends)
            del live[bisect.bisect_left(live, (o, t))]
        b0, b1 = off[u], off[u] + nbytes[u]
        lo = bisect.bisect_left(live, (b0 - span + 1, ""))
        hi = bisect.bisect_left(live, (b1, ""))
        for o, t in live[lo:hi]:
            if o + nbytes[t] > b0 and group(t) != group(u):
                s1, e1 = rng[t]
                raise PlanError(f"{t!r} (steps {s1}..{e1}, bytes {o}..{o + nbytes[t]}) overlaps "
                                f"{u!r} (steps {s2}..{e2}, bytes {b0}..{b1})")
        bisect.insort(live, (b0, u))
        heapq.heappush(ends, (e2, b0, u))
