"""Draw the arena over the schedule: every tensor a rectangle (steps x bytes at its offset).

matplotlib is an optional extra (`pip install mcuforge[plot]`); without it this says so.
"""

from __future__ import annotations

from pathlib import Path

from toolchain.errors import McuforgeError
from toolchain.ir.graph import Graph
from toolchain.memory import MemoryPlan
from toolchain.memory.lifetimes import SCRATCH


def plot_memory(g: Graph, mp: MemoryPlan, out: str | Path, title: str = "") -> Path:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.patches import Rectangle
    except ImportError:
        raise McuforgeError("--plot needs matplotlib: pip install 'mcuforge[plot]'") from None
    lt = mp.lifetimes
    fig, ax = plt.subplots(figsize=(max(8.0, len(g.nodes) * 0.12), 5.0))
    cmap = plt.get_cmap("tab20")
    for name, (start, end) in lt.tensor_range.items():
        size = lt.scratch[int(name[len(SCRATCH):])] if name.startswith(SCRATCH) else g.tensors[name].nbytes
        if size == 0:
            continue
        b = lt.tensor_buffer[name]
        x0 = max(start, -1)
        color = "0.6" if name.startswith(SCRATCH) else cmap(b % 20)
        ax.add_patch(Rectangle((x0, mp.plan.offsets[b]), end - x0 + 1, size, facecolor=color,
                               edgecolor="black", linewidth=0.3, alpha=0.85))
    ax.axhline(mp.arena_bytes, color="red", linewidth=1)
    ax.text(len(g.nodes) - 0.5, mp.arena_bytes, f" arena {mp.arena_bytes:,} B", color="red", va="bottom", ha="right")
    ax.set_xlim(-1.5, len(g.nodes) + 0.5)
    ax.set_ylim(0, mp.arena_bytes * 1.08 + 16)
    ax.set_xlabel("schedule step (node index; -1 = model inputs)")
    ax.set_ylabel("arena offset (bytes)")
    ax.set_title(title or f"{g.name}: arena over the schedule (grey: kernel scratch)")
    fig.tight_layout()
    out = Path(out)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out
