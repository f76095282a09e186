"""A cluster board's harts in the firmware build and in the instruction count.

The build side: which -D flags a cluster build needs (harts used, per-hart stack, the CLINT
the wake-ups go through, an optional start-delay seed). The count side: the plugin's cluster
mode (tools/qemu_plugin/mf_icount.c, harts=) counts per hart, keeps the waiting code of
runtime_c/board/mf_cluster_riscv.c (.text.mf_wait) apart from work, and sums the span over
the fork/join regions that mf_cluster_region_begin/_end delimit.

Span = sum over regions of the largest per-hart work in the region + hart 0's work outside
regions: the critical path of the parallel program, in instructions (not cycles: QEMU
models no timing, no shared-L1 contention).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from toolchain.boards import Board
from toolchain.errors import McuforgeError
from toolchain.sim.elfinfo import read_elf
from toolchain.sim.errors import RunError, SimError

WAIT_FUNCTIONS = ("mf_cluster_boot", "mf_cluster_worker", "mf_cluster_fork")
REGION_BEGIN, REGION_END = "mf_cluster_region_begin", "mf_cluster_region_end"


class HartsError(McuforgeError, ValueError):
    """--harts outside what the board has."""


def resolve_harts(board: Board, harts: int | None) -> int:
    """The harts a build uses: the board's all by default; 1..board.max_harts otherwise."""
    if harts is None:
        return board.max_harts
    if not 1 <= harts <= board.max_harts:
        what = f"has {board.max_harts} harts" if board.cluster else "is not a cluster (1 hart)"
        raise HartsError(f"--harts {harts}: board {board.name} {what}")
    return harts


def cluster_defines(board: Board, harts: int, stack_bytes: int,
                    delay_seed: int | None = None) -> list[str]:
    """-D flags of a cluster build (runtime_c/board/mf_cluster_riscv.c); none otherwise."""
    if board.cluster is None:
        return []
    flags = [f"-DMF_HARTS={harts}", f"-DMF_HART_STACK_BYTES={stack_bytes}",
             f"-DMF_CLINT_BASE={board.cluster.ipi_base:#x}u"]
    if delay_seed is not None:
        flags.append(f"-DMF_CLUSTER_DELAY_SEED={int(delay_seed)}u")
    return flags


def plugin_args(elf: Path, harts: int) -> str:
    """The plugin's cluster-mode arguments for this firmware."""
    info = read_elf(elf)
    spans = []
    for name in WAIT_FUNCTIONS:
        sym = info.symbol(name)
        if sym is None or not sym.size:
            raise SimError(f"{elf} has no {name}: not a cluster build")
        spans.append((sym.value & ~1, (sym.value & ~1) + sym.size))
    lo, hi = min(s[0] for s in spans), max(s[1] for s in spans)
    # the three functions share one input section (.text.mf_wait): nothing else lies between
    if hi - lo > sum(b - a for a, b in spans) + 16 * len(spans):
        raise SimError(f"{elf}: the cluster's waiting code is not contiguous")
    begin, end = info.symbol(REGION_BEGIN), info.symbol(REGION_END)
    if begin is None or end is None:
        raise SimError(f"{elf} has no {REGION_BEGIN}/{REGION_END} markers")
    return (f",harts={harts},wait={lo:#x}-{hi:#x},region={begin.value & ~1:#x},"
            f"region_end={end.value & ~1:#x}")


@dataclass(frozen=True)
class HartCount:
    work: int        # instructions outside the waiting code, in the benchmark window
    weighted: int    # the same, LMUL-weighted (RVV)
    sync: int        # instructions in the waiting code (wfi loops, the join): not work


@dataclass(frozen=True)
class ClusterCounts:
    harts: tuple[HartCount, ...]
    regions: int           # fork/join regions in the window
    span: int              # critical path, instructions
    weighted_span: int     # critical path, LMUL-weighted
    serial: int            # hart 0's work outside regions

    @property
    def work(self) -> int:
        return sum(h.work for h in self.harts)

    def as_dict(self, weighted: bool) -> dict:
        per = [h.weighted if weighted else h.work for h in self.harts]
        return {"harts": len(self.harts), "span_instructions": self.weighted_span if weighted else self.span,
                "instructions_per_hart": per, "sync_instructions_per_hart": [h.sync for h in self.harts],
                "regions": self.regions, "serial_instructions": self.serial,
                "work_instructions": sum(per)}


def read_cluster_counts(counts: dict[str, int], harts: list[tuple[int, int, int, int]]) -> ClusterCounts:
    if counts.get("region_errors"):
        raise RunError(f"cluster region markers out of order: {counts['region_errors']}")
    rows = sorted(harts)
    return ClusterCounts(tuple(HartCount(w, ww, s) for _, w, ww, s in rows), counts["regions"],
                         counts["span"], counts["weighted_span"], counts["serial"])
