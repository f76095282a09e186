"""Arena placement: a pure function from buffers (size, live range) to byte offsets.

Each strategy takes the buffers in some order and puts each at the lowest aligned offset
where it does not overlap any already placed buffer that is live at the same time (buffers
are sets of segments from one base offset, see lifetimes.Buffer). The orders:

- greedy-by-size, as TFLM's GreedyMemoryPlanner: largest first;
- greedy-by-lifetime: longest-lived first, so a long-lived stream (a transformer's residual
  tokens) sits at the bottom and short-lived buffers stack above it without fragmenting;
- greedy-by-start: in schedule order, the way a bump allocator would.

`plan` runs them all and keeps the smallest arena (ties: the first). None is optimal in
general; together they remove most of the fragmentation any single order leaves.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from toolchain.memory.lifetimes import Buffer
from toolchain.ops.base import ALIGN, align_up  # noqa: F401  (ALIGN: re-exported)



@dataclass(frozen=True)
class Plan:
    offsets: dict[int, int]  # buffer id -> byte offset
    arena_bytes: int
    strategy: str = "greedy-by-size"


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


# Buffers living longer than this many steps are checked against every later buffer; the
# others only against placed buffers that start at most this many steps before them, which
# keeps placement O(n log n) on long graphs (a buffer that starts earlier has ended).
_LONG = 64


def place_in_order(order: list[Buffer], align: int, strategy: str) -> Plan:
    long: list[tuple[Buffer, int]] = []
    short: list[tuple[int, int, Buffer, int]] = []  # (start, id, buffer, offset), sorted
    offsets: dict[int, int] = {}
    for b in order:
        if b.size == 0:
            offsets[b.id] = 0
            continue
        lo = bisect.bisect_left(short, (b.start - _LONG, -1))
        hi = bisect.bisect_right(short, (b.end, float("inf")))
        near = long + [(p, off) for _, _, p, off in short[lo:hi]]
        offsets[b.id] = lowest_fit(b, near, align)
        if b.end - b.start > _LONG:
            long.append((b, offsets[b.id]))
        else:
            bisect.insort(short, (b.start, b.id, b, offsets[b.id]))
    peak = max((offsets[b.id] + b.size for b in order), default=0)
    return Plan(offsets, align_up(peak, align), strategy)


STRATEGIES = {
    "greedy-by-size": lambda b: (-b.size, -(b.end - b.start), b.start, b.id),
    "greedy-by-lifetime": lambda b: (-(b.end - b.start), -b.size, b.start, b.id),
    "greedy-by-start": lambda b: (b.start, -b.size, b.id),
}


def plan(buffers: list[Buffer], align: int = ALIGN, strategies: tuple[str, ...] = tuple(STRATEGIES)) -> Plan:
    plans = [place_in_order(sorted(buffers, key=STRATEGIES[s]), align, s) for s in strategies]
    return min(plans, key=lambda p: p.arena_bytes)
