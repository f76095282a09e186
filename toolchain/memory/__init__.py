"""Memory planning: lifetimes and aliases -> arena offsets, with an independent checker."""

from __future__ import annotations

from dataclasses import dataclass

from toolchain.ir.graph import Graph
from toolchain.memory.checker import PlanError, check_plan
from toolchain.memory.lifetimes import SCRATCH, Alias, Buffer, Lifetimes, compute_lifetimes, with_scratch
from toolchain.memory.planner import ALIGN, STRATEGIES, Plan, plan


@dataclass(frozen=True)
class MemoryPlan:
    lifetimes: Lifetimes
    plan: Plan

    @property
    def arena_bytes(self) -> int:
        return self.plan.arena_bytes

    def offset(self, tensor: str) -> int:
        return self.plan.offsets[self.lifetimes.tensor_buffer[tensor]]

    def scratch_offset(self, node_index: int) -> int | None:
        b = self.lifetimes.tensor_buffer.get(f"{SCRATCH}{node_index}")
        return None if b is None else self.plan.offsets[b]


def plan_memory(g: Graph, inplace: bool = True, overwrite: bool = True, consume_inputs: bool = False,
                scratch: dict[int, int] | None = None, check: bool = True,
                strategies: tuple[str, ...] = tuple(STRATEGIES)) -> MemoryPlan:
    """scratch: bytes of kernel scratch per node index, planned like a one-step tensor.
    strategies: the placement orders to try (planner.STRATEGIES); the smallest arena wins."""
    lt = compute_lifetimes(g, inplace=inplace, overwrite=overwrite, consume_inputs=consume_inputs, scratch=scratch)
    return place(g, lt, check=check, strategies=strategies)


def place(g: Graph, lt: Lifetimes, check: bool = True,
          strategies: tuple[str, ...] = tuple(STRATEGIES)) -> MemoryPlan:
    """Offsets for lifetimes already derived (aliases taken, scratch added), checked."""
    p = plan(lt.buffers, strategies=strategies)
    if check:
        check_plan(g, lt, p)
    return MemoryPlan(lt, p)


__all__ = ["ALIGN", "Alias", "Buffer", "Lifetimes", "MemoryPlan", "Plan", "PlanError",
           "check_plan", "compute_lifetimes", "place", "plan", "plan_memory", "with_scratch"]
