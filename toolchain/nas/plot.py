"""Pareto plot: every candidate scored (accuracy vs peak RAM, colour = flash), the front, the
chosen one, the hand-designed models for comparison and the RAM budget. matplotlib is
optional (the `[plot]` extra)."""

from __future__ import annotations

from pathlib import Path

from toolchain.errors import McuforgeError
from toolchain.nas.evolution import Candidate


def plot_pareto(evaluated: list[Candidate], front: list[Candidate], chosen: Candidate | None, ram_budget: int,
                out: Path, title: str = "", hand: list[tuple[str, int, float]] = (),
                chosen_test: float | None = None, chosen_arena: int | None = None) -> Path:
    """hand: (label, arena bytes, accuracy) of hand-designed models, drawn as squares. Their
    accuracy is on the test split after training, like ``chosen_test`` (the chosen model after
    retraining); the candidates' is validation accuracy with inherited weights, so the legend
    says which is which. The line is the front in this plot's two axes (accuracy vs RAM);
    ``front`` (which weighs flash too) is marked with black dots. ``chosen`` is None when the
    re-ranking chose a model the search did not score (the hand design outside the space);
    ``chosen_arena`` places ``chosen_test`` then."""
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only: no display needed on a build server
        import matplotlib.pyplot as plt
    except ImportError:
        raise McuforgeError("--plot needs matplotlib: pip install 'mcuforge[plot]'") from None
    fig, ax = plt.subplots(figsize=(7, 4.5))
    sc = ax.scatter([c.arena_bytes / 1024 for c in evaluated], [100 * c.accuracy for c in evaluated],
                    c=[c.flash_bytes / 1024 for c in evaluated], cmap="viridis", s=18, alpha=0.7)
    fig.colorbar(sc, ax=ax, label="flash (KiB)")
    ax.scatter([c.arena_bytes / 1024 for c in front], [100 * c.accuracy for c in front], c="k", s=8,
               label="Pareto front (accuracy, RAM, flash)")
    best_so_far, line = -1.0, []
    for c in sorted(evaluated, key=lambda c: (c.arena_bytes, -c.accuracy)):
        if c.accuracy > best_so_far:
            best_so_far = c.accuracy
            line.append(c)
    ax.step([c.arena_bytes / 1024 for c in line], [100 * c.accuracy for c in line], "k--", lw=1, where="post",
            label="best accuracy for the RAM")
    if chosen is not None:
        ax.scatter([chosen.arena_bytes / 1024], [100 * chosen.accuracy], marker="*", s=200, c="red",
                   label="chosen (validation, inherited)")
    arena = chosen_arena if chosen_arena is not None else chosen.arena_bytes if chosen is not None else None
    if chosen_test is not None and arena is not None:
        ax.scatter([arena / 1024], [100 * chosen_test], marker="*", s=200, c="gold", edgecolors="k",
                   label="chosen (test, trained from scratch)")
    for i, (label, arena, acc) in enumerate(hand):
        ax.scatter([arena / 1024], [100 * acc], marker="s", s=60, c="orange", edgecolors="k",
                   label="hand-designed (test, trained)" if i == 0 else None)
        ax.annotate(label, (arena / 1024, 100 * acc), fontsize=7, xytext=(4, -10), textcoords="offset points")
    ax.axvline(ram_budget / 1024, color="red", lw=1, ls=":", label="RAM budget")
    ax.set_xlabel("peak RAM, compiled arena (KiB)")
    ax.set_ylabel("accuracy (%)")
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out
