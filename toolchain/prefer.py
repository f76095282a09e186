"""In place or out of place, per layer: `--prefer speed|memory` and the default between them.

A conv that may write its output over its input (ops/conv.py: depthwise and pointwise) has two
kernels: the overwrite kernel, which saves the output's bytes, and the plain one, often faster
(Conv.overwrite_slowdown gives the ratio bench/kernels.py measured). Which to take depends on
the whole plan, so it is decided here, after lowering, by planning again:

- "memory": every such conv in place (the smallest arena; what the planner did before);
- "auto" (the default, memory first: the fastest variant that still fits): a conv goes out of
  place only where its kernel is faster (the estimate above MIN_SPEEDUP) and the arena still
  fits the RAM budget; with no budget (compile and verify without --ram-budget) nothing is
  known to fit, so everything stays in place;
- "speed": every conv out of place as long as the arena fits the budget (any budget if none),
  except where the overwrite kernel is the faster one (FP16 on the M7: the out-of-place
  reference conv is about three times slower than the overwrite kernel).

All the wanted convs out of place at once are tried first; if that does not fit, they are
tried one at a time, the largest estimated saving of instructions first, each kept out of place
only if the re-planned arena fits. The result never exceeds the budget unless the all-in-place
plan already did. Every candidate gets a Choice that says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from toolchain.ir.graph import Graph
from toolchain.memory import MemoryPlan
from toolchain.ops import REGISTRY
from toolchain.ops.base import KernelTarget

PREFER = ("auto", "speed", "memory")
# "auto" takes out of place only where it is estimated faster than this (strictly)
MIN_SPEEDUP = 1.0


@dataclass(frozen=True)
class Choice:
    node: str
    kind: str  # "depthwise" | "pointwise"
    in_place: bool
    speedup: float  # estimated instructions in place / out of place
    bytes: int  # arena bytes the choice saves (in place) or costs (out of place); 0 if not planned
    why: str

    def as_dict(self) -> dict:
        return {"node": self.node, "kind": self.kind, "choice": "in place" if self.in_place else "out of place",
                "speedup": round(self.speedup, 2), "bytes": self.bytes, "why": self.why}


Planner = Callable[[frozenset[str]], tuple[object, MemoryPlan]]


def candidates(g: Graph, mp: MemoryPlan, target: KernelTarget) -> list[tuple[str, str, float, int]]:
    """(node, kind, speed-up, MACs) of the convs the plan put over their input."""
    taken = {a.node for a in mp.lifetimes.aliases if a.kind == "overwrite"}
    out = []
    for n in g.nodes:
        op = REGISTRY.get(n.op_type)
        rate = getattr(op, "overwrite_slowdown", None)
        if n.name not in taken or rate is None:
            continue
        kind, speedup = rate(n.params, n, g, target)
        ins = [g.tensors[i] for i in n.inputs if i]
        outs = [g.tensors[o] for o in n.outputs if o]
        out.append((n.name, kind, speedup, op.macs(n.params, ins, outs)))
    return out


def _fmt(n: int) -> str:
    return f"{n:,} B"


def choose(g: Graph, target: KernelTarget, plan: Planner, prefer: str = "auto",
           budget: int | None = None, fixed: frozenset[str] | None = None,
           ) -> tuple[object, MemoryPlan, list[Choice]]:
    """(the planner's result for the chosen set, its memory plan, one Choice per candidate).
    plan(out_of_place) plans the graph with those nodes kept out of place; `fixed`: that set,
    decided before (a cluster build repeats its one-hart choice)."""
    if prefer not in PREFER:
        raise ValueError(f"prefer {prefer!r}: expected one of {PREFER}")
    res, mp = plan(frozenset())
    cands = candidates(g, mp, target)
    if not cands:
        return res, mp, []
    if fixed is not None:
        if fixed:
            res, mp = plan(fixed)
        return res, mp, [Choice(n, k, n not in fixed, s, 0, ("out of place" if n in fixed else "in place") + ": as the one-hart build")
                         for n, k, s, _ in cands]
    if prefer == "memory":
        return res, mp, [Choice(n, k, True, s, 0, "in place: --prefer memory (smallest arena)") for n, k, s, _ in cands]
    if prefer == "auto" and budget is None:
        return res, mp, [Choice(n, k, True, s, 0, "in place: memory first, and no RAM budget to fit out of place into")
                         for n, k, s, _ in cands]
    limit = budget if budget is not None else float("inf")
    choices: dict[str, Choice] = {}
    tries = []
    for n, k, s, macs in cands:
        if prefer == "auto" and s <= MIN_SPEEDUP:
            choices[n] = Choice(n, k, True, s, 0, f"in place: out of place is not faster ({s:.2f}x)")
        elif s < 1.0:
            choices[n] = Choice(n, k, True, s, 0, f"in place: the overwrite kernel is faster ({1 / s:.2f}x)")
        else:
            tries.append((n, k, s, macs))
    # the largest estimated saving first: MACs x (1 - 1/speed-up) is proportional to it
    tries.sort(key=lambda t: -t[3] * (1.0 - 1.0 / t[2]) if t[2] > 0 else 0.0)
    room = f"fits {_fmt(budget)}" if budget is not None else "no RAM budget"
    if len(tries) > 1:  # all at once first: the planner is greedy, so one at a time can miss it
        every = frozenset(t[0] for t in tries)
        r2, mp2 = plan(every)
        if mp2.arena_bytes <= limit:
            delta = mp2.arena_bytes - mp.arena_bytes
            for n, k, s, _ in tries:
                choices[n] = Choice(n, k, False, s, delta, f"out of place: {s:.2f}x faster, {len(tries)} convs out of "
                                    f"place cost {_fmt(delta)} together, {room}")
            return r2, mp2, [choices[n] for n, _, _, _ in cands]
    out: frozenset[str] = frozenset()
    fits_now = mp.arena_bytes <= limit
    for n, k, s, _ in tries:
        r2, mp2 = plan(out | {n})
        delta = mp2.arena_bytes - mp.arena_bytes
        if mp2.arena_bytes <= limit:
            out, res, mp = out | {n}, r2, mp2
            cost = f"costs {_fmt(delta)}" if delta > 0 else "costs no arena bytes"
            choices[n] = Choice(n, k, False, s, delta, f"out of place: {s:.2f}x faster, {cost}, {room}")
        else:
            need = f"needed to fit {_fmt(budget)}" if fits_now else f"and the arena exceeds {_fmt(budget)} anyway"
            choices[n] = Choice(n, k, True, s, delta, f"in place: saves {_fmt(delta)}, {need}")
    return res, mp, [choices[n] for n, _, _, _ in cands]


__all__ = ["Choice", "MIN_SPEEDUP", "PREFER", "candidates", "choose"]
