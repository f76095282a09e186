"""Work blocks: the planner's trade of kernel scratch for speed.

Some kernels run faster on a block of rows at a time (a token chain on 4 tokens reuses each
weight it loads 4 times) but need scratch proportional to the block (Op.blocks lists the sizes
a node can take). Blocks never cost memory here:

1. lower every node with its smallest block and plan: the arena A;
2. give each node the largest block whose extra scratch still fits under A at its step (what
   is live there plus the larger scratch <= A);
3. plan again and keep the blocked version if its arena is still <= A; else step the block
   of the node with the most bytes live down one size and plan again, until it fits (at worst
   every node is back at its smallest block: the plan of step 1).

Step 3 is needed because the planner places buffers greedily: bytes that fit in total may not
fit as offsets.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable

from toolchain.ir.graph import Graph
from toolchain.memory import MemoryPlan
from toolchain.memory.report import node_memory
from toolchain.ops import REGISTRY
from toolchain.ops.base import Call, LowerCtx

Plan = Callable[[list[list[Call]]], MemoryPlan]


def lower_all(g: Graph, ctx: LowerCtx) -> list[list[Call]]:
    return [[] if REGISTRY.get(n.op_type).view else REGISTRY.get(n.op_type).lower(n.params, n, ctx) for n in g.nodes]


def _scratch(calls: list[Call]) -> int:
    return max((c.scratch_bytes for c in calls), default=0)


def choose_blocks(g: Graph, ctx: LowerCtx, calls: list[list[Call]], mp: MemoryPlan) -> dict[str, int]:
    """Step 2: node name -> block, for the nodes that have a choice."""
    live = node_memory(g, mp.lifetimes)
    chosen: dict[str, int] = {}
    for i, n in enumerate(g.nodes):
        op = REGISTRY.get(n.op_type)
        sizes = op.blocks(n.params, n, ctx)
        if len(sizes) < 2:
            continue
        others = live[i].live_bytes - _scratch(calls[i])
        for b in sorted(sizes, reverse=True):
            if others + _scratch(op.lower(n.params, n, replace(ctx, blocks={n.name: b}))) <= mp.arena_bytes:
                chosen[n.name] = b
                break
    return chosen


def lower_and_plan(g: Graph, ctx: LowerCtx, plan: Plan) -> tuple[list[list[Call]], MemoryPlan, dict[str, int]]:
    """Calls, plan and the blocks taken (empty when every node kept its smallest)."""
    small = replace(ctx, blocks={})
    calls = lower_all(g, small)
    mp = plan(calls)
    chosen = choose_blocks(g, small, calls, mp)
    index = {n.name: i for i, n in enumerate(g.nodes)}
    while chosen:
        blocked = lower_all(g, replace(ctx, blocks=chosen))
        mp2 = plan(blocked)
        if mp2.arena_bytes <= mp.arena_bytes:
            return blocked, mp2, chosen
        live = node_memory(g, mp2.lifetimes)
        name = max(chosen, key=lambda k: live[index[k]].live_bytes)
        n = g.nodes[index[name]]
        smaller = [b for b in REGISTRY.get(n.op_type).blocks(n.params, n, small) if b < chosen[name]]
        if len(smaller) > 1:
            chosen[name] = max(smaller)
        else:
            del chosen[name]  # back to its smallest block
    return calls, mp, {}
