"""Names for the arena: one macro per planned tensor (and per node's kernel scratch), so the
generated C reads `MF_A7` with a comment saying which tensor it is, where, how big and when
it lives, instead of a bare `mf_arena + 4352`; and memory_map.txt, the same table in full
for a person debugging the plan."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from toolchain.ir.graph import Graph
from toolchain.memory import MemoryPlan
from toolchain.memory.lifetimes import SCRATCH

COMMENT_CHARS = 72  # long exporter names are cut in the C comment (memory_map.txt has them whole)


@dataclass(frozen=True)
class Slot:
    macro: str
    tensor: str  # the tensor's name, or "scratch of node <i>"
    offset: int
    nbytes: int
    first: int  # first step live (-1: a model input, present before the first node)
    last: int  # last step live (len(nodes): a model output, read after the last node)
    shares: str  # the tensor whose buffer it shares ("" when it owns its buffer)


def arena_slots(g: Graph, mp: MemoryPlan) -> list[Slot]:
    """Every arena tensor, by offset then first step; macros numbered in that order."""
    lt = mp.lifetimes
    alias_src = {a.tensor: a.source for a in lt.aliases}
    rows = []
    for t, b in lt.tensor_buffer.items():
        first, last = lt.tensor_range[t]
        if t.startswith(SCRATCH):
            name, nbytes = f"scratch of node {t[len(SCRATCH):]}", lt.buffers[b].size
        else:
            name, nbytes = t, g.tensors[t].nbytes
        rows.append((mp.plan.offsets[b], first, name, t, nbytes, last, alias_src.get(t, "")))
    rows.sort(key=lambda r: r[:3])
    return [Slot(f"MF_A{i}", name, off, nbytes, first, last, shares)
            for i, (off, first, name, _, nbytes, last, shares) in enumerate(rows)]


def slot_keys(g: Graph, mp: MemoryPlan, slots: list[Slot]) -> dict[str, str]:
    """tensor (or #scratch<i> pseudo-tensor) -> its macro."""
    by_name = {s.tensor: s.macro for s in slots}
    out = {}
    for t in mp.lifetimes.tensor_buffer:
        name = f"scratch of node {t[len(SCRATCH):]}" if t.startswith(SCRATCH) else t
        out[t] = by_name[name]
    return out


def _short(name: str) -> str:
    if len(name) <= COMMENT_CHARS:
        return name
    half = (COMMENT_CHARS - 3) // 2
    return name[:half] + "..." + name[-half:]


def define_lines(slots: list[Slot], comment: "callable") -> list[str]:
    """`#define MF_A<i> (mf_arena + off) /* tensor: bytes B, nodes a..b */` per slot."""
    lines = ["/* Arena map: one macro per planned tensor; nodes a..b is when it is live (-1: a model",
             " * input before the first node). Full names: memory_map.txt. */"]
    for s in slots:
        share = f", over {comment(_short(s.shares))}" if s.shares else ""
        lines.append(f"#define {s.macro} (mf_arena + {s.offset}) /* {comment(_short(s.tensor))}: {s.nbytes} B, "
                     f"nodes {s.first}..{s.last}{share} */")
    return lines


def write_memory_map(g: Graph, mp: MemoryPlan, slots: list[Slot], path: Path) -> Path:
    lines = [f"# arena of {g.source or g.name}: {mp.arena_bytes} bytes, planner {mp.plan.strategy}",
             "# macro  offset  end  bytes  first  last  tensor  [shares the buffer of]"]
    for s in slots:
        lines.append(f"{s.macro}\t{s.offset}\t{s.offset + s.nbytes}\t{s.nbytes}\t{s.first}\t{s.last}\t{s.tensor}"
                     + (f"\t[{s.shares}]" if s.shares else ""))
    path.write_text("\n".join(lines) + "\n")
    return path
