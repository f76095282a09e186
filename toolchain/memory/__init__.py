"""Memory planning: lifetimes and aliases -> arena offsets, with an independent checker."""

from __future__ import annotations

from dataclasses import dataclass

from toolchain.ir.graph import Graph
from toolchain.memory.checker import PlanError, check_plan
from toolchain.memory.lifetimes import Alias, Buffer, Lifetimes, compute_lifetimes
from toolchain.memory.planner import ALIGN, Plan, plan


@dataclass(frozen=True)
class MemoryPlan:
    lifetimes: Lifetimes
    plan: Plan

    @property
    def arena_bytes(self) -> int:
        return self.plan.arena_bytes

    def offset(self, tensor: str) -> int:
        return self.plan.offsets[self.lifetimes.tensor_buffer[tensor]]


def plan_memory(g: Graph, inplace: bool = True, check: bool = True) -> MemoryPlan:
    lt = compute_lifetimes(g, inplace=inplace)
    p = plan(lt.buffers)
    if check:
        check_plan(g, lt, p)
    return MemoryPlan(lt, p)


__all__ = ["ALIGN", "Alias", "Buffer", "Lifetimes", "MemoryPlan", "Plan", "PlanError",
           "check_plan", "compute_lifetimes", "plan", "plan_memory"]
