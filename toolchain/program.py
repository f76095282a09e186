"""The one compilation program after lowering, for inference (toolchain.api) and training
(toolchain.train.program) alike:

    graph -> aliases (memory.compute_lifetimes) -> kernel variants (choose_kernels)
          -> kernel scratch as one-node buffers -> offsets (memory.place, checked)
          -> larger work blocks where their scratch fits under that arena (memory.blocking)

Kernels are chosen once the aliases are known, so an op calls its in-place/overwrite kernel
only where the planner actually gave its output an input's bytes; their scratch is then
planned inside the arena like any tensor that lives for one node. Rendering the result is
codegen's job (toolchain.codegen).
"""

from __future__ import annotations

from toolchain.codegen.parallel import ParallelCall, parallelize
from toolchain.ir.graph import Graph
from toolchain.memory import Lifetimes, MemoryPlan, compute_lifetimes, place, with_scratch
from toolchain.memory.blocking import lower_and_plan
from toolchain.memory.planner import STRATEGIES
from toolchain.ops import REGISTRY
from toolchain.ops.base import Call, KernelTarget, LowerCtx
from toolchain.ops.kernel_table import available


def choose_kernels(g: Graph, lt: Lifetimes, target: KernelTarget,
                   kernels: frozenset[str] | None = None) -> list[list[Call]]:
    """Kernel calls per node for `target`, given the aliases the planner took (lt.aliases);
    kernels: the names that exist (default: the kernel table)."""
    ctx = LowerCtx(g.tensors, target, available() if kernels is None else kernels,
                   overwritten=frozenset(a.tensor for a in lt.aliases if a.kind == "overwrite"))
    return [[] if REGISTRY.get(n.op_type).view else REGISTRY.get(n.op_type).lower(n.params, n, ctx) for n in g.nodes]


def plan_program(g: Graph, target: KernelTarget, inplace: bool = True, overwrite: bool = True,
                 consume_inputs: bool = False, strategies: tuple[str, ...] = tuple(STRATEGIES),
                 kernels: frozenset[str] | None = None,
                 harts: int = 1, out_of_place: frozenset[str] = frozenset(),
                 ) -> tuple[list[list[Call]], MemoryPlan, list[ParallelCall]]:
    """(kernel calls per node, checked memory plan with each node's scratch inside the arena,
    the calls forked over `harts`: codegen.parallel swaps in the fork/join twins, whose scratch
    is one private copy per hart). out_of_place: nodes that keep their own output buffer
    although they could overwrite their input (toolchain.prefer chooses them)."""
    lt = compute_lifetimes(g, inplace=inplace, overwrite=overwrite, consume_inputs=consume_inputs,
                           out_of_place=out_of_place)
    ctx = LowerCtx(g.tensors, target, available() if kernels is None else kernels,
                   overwritten=frozenset(a.tensor for a in lt.aliases if a.kind == "overwrite"))

    def plan(calls: list[list[Call]]) -> MemoryPlan:
        calls, _ = parallelize(calls, harts, ctx.available, g=g)
        scratch = {i: max(c.scratch_bytes for c in cs) for i, cs in enumerate(calls) if cs}
        return place(g, with_scratch(lt, scratch), strategies=strategies)
    # Blocked kernels (token chains, attention) get the largest work block that costs no arena.
    calls, mp, _ = lower_and_plan(g, ctx, plan)
    calls, par = parallelize(calls, harts, ctx.available, g=g)
    return calls, mp, par
