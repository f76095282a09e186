"""Arena placement: a pure function from buffers (size, live range) to byte offsets.

Greedy by size, as TFLM's GreedyMemoryPlanner: take buffers largest first (ties: longer
life first, then earlier start), and put each at the lowest aligned offset where it does
not overlap any already placed buffer that is live at the same time. The arena size is the
highest end offset. Not optimal in general, but within a few percent on chain-like graphs.
"""

from __future__ import annotations

from dataclasses import dataclass

from toolchain.memory.lifetimes import Buffer

ALIGN = 16  # bytes: enough for any SIMD load on the targets (128-bit vectors)


@dataclass(frozen=True)
class Plan:
    offsets: dict[int, int]  # buffer id -> byte offset
    arena_bytes: int
    strategy: str = "greedy-by-size"


def align_up(x: int, a: int = ALIGN) -> int:
    return (x + a - 1) // a * a


def plan_greedy_by_size(buffers: list[Buffer], align: int = ALIGN) -> Plan:
    order = sorted(buffers, key=lambda b: (-b.size, -(b.end - b.start), b.start, b.id))
    placed: list[tuple[Buffer, int]] = []
    offsets: dict[int, int] = {}
    for b in order:
        if b.size == 0:
            offsets[b.id] = 0
            continue
        busy = sorted((off, off + p.size) for p, off in placed if p.overlaps_in_time(b))
        off = 0
        for lo, hi in busy:
            if off + b.size <= lo:
                break
            off = max(off, align_up(hi, align))
        offsets[b.id] = off
        placed.append((b, off))
    peak = max((offsets[b.id] + b.size for b in buffers), default=0)
    return Plan(offsets, align_up(peak, align))


def plan(buffers: list[Buffer], align: int = ALIGN) -> Plan:
    return plan_greedy_by_size(buffers, align)
