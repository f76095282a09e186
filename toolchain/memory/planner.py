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


def lowest_fit(b: Buffer, placed: list[tuple[Buffer, int]], align: int) -> int:
    """The lowest aligned offset where every segment of b avoids every time-overlapping
    segment of the placed buffers (segments share their buffer's base offset)."""
    forbidden = []  # open intervals (lo, hi) of base offsets that collide
    for p, off in placed:
        if not p.overlaps_in_time(b):
            continue
        for s0, e0, n0 in b.segments:
            for s1, e1, n1 in p.segments:
                if s0 <= e1 and s1 <= e0 and n0 and n1:
                    forbidden.append((off - n0, off + n1))
    x, moved = 0, True
    while moved:  # a bump can land inside an interval already passed: scan until stable
        moved = False
        for lo, hi in forbidden:
            if lo < x < hi:
                x, moved = align_up(hi, align), True
    return x


def plan_greedy_by_size(buffers: list[Buffer], align: int = ALIGN) -> Plan:
    order = sorted(buffers, key=lambda b: (-b.size, -(b.end - b.start), b.start, b.id))
    placed: list[tuple[Buffer, int]] = []
    offsets: dict[int, int] = {}
    for b in order:
        if b.size == 0:
            offsets[b.id] = 0
            continue
        offsets[b.id] = lowest_fit(b, placed, align)
        placed.append((b, offsets[b.id]))
    peak = max((offsets[b.id] + b.size for b in buffers), default=0)
    return Plan(offsets, align_up(peak, align))


def plan(buffers: list[Buffer], align: int = ALIGN) -> Plan:
    return plan_greedy_by_size(buffers, align)
