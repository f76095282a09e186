"""The final choice by training, not by inherited weights.

Inherited supernet weights rank sub-networks well enough to search, but not to pick among the
best few: the sandwich rule trains the smallest sub-network every step, so small ones score
above what they are worth, and bigger ones below (on digits the search then shipped a 6 KB
model at 32 and 64 KB budgets and lost to the hand CNN). So the evolution's ``top_k`` (by
inherited validation accuracy) and the hand-designed model of the budget are each trained
from scratch on the training split with the hand design's schedule, for ``seeds`` seeds, and
the winner is the best mean *validation* accuracy (the test split is never looked at); the
hand design keeps its place on a tie. The
winner is then trained once more, from scratch, with the schedule and seed the hand baseline
gets. If the hand design wins the re-ranking, the shipped model is the hand baseline, weight
for weight; if another wins, it beat the hand design on validation data with the same
training. The searched model is therefore not worse than the hand design by construction,
except for the noise between the validation and the test split.

The loop is plain Python over a scoring callable, so tests drive it with a fake trainer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from toolchain.nas.evolution import Candidate
from toolchain.nas.measure import Footprint
from toolchain.nas.space import Config


@dataclass(frozen=True)
class RerankOptions:
    top_k: int = 3   # evolution candidates re-trained (the hand design comes on top)
    seeds: int = 2   # training seeds per candidate; the score is their mean validation accuracy


@dataclass(frozen=True)
class Entry:
    """One model to re-train: a searched config, or the hand-designed model (``hand``)."""
    label: str
    config: Config
    footprint: Footprint
    inherited: float | None  # validation accuracy with supernet weights (None: not scored so)
    hand: bool = False


@dataclass(frozen=True)
class Ranked:
    entry: Entry
    val: tuple[float, ...]   # validation accuracy per seed, trained from scratch

    @property
    def mean(self) -> float:
        return sum(self.val) / len(self.val)

    def sort_key(self) -> tuple[float, bool, int, int]:
        # Best mean validation first. On a tie the hand design stays: a searched model replaces
        # it only when strictly better on validation (digits' 359 validation samples tie often,
        # at 99.7 % one error each, and a tie says nothing about which generalises better).
        # Among tied searched models, the one that leaves the most RAM, then flash.
        f = self.entry.footprint
        return (-self.mean, not self.entry.hand, f.arena_bytes, f.flash_bytes)


def shortlist(evaluated: Sequence[Candidate], k: int, hand: Entry | None) -> list[Entry]:
    """The ``k`` best candidates by inherited validation accuracy, then the hand design (once:
    the evolution's copy of its config is replaced by the hand entry)."""
    best = sorted(evaluated, key=Candidate.sort_key)
    out = [Entry(c.config.short(), c.config, c.footprint, c.accuracy) for c in best
           if hand is None or c.config != hand.config][:k]
    return out + ([hand] if hand is not None else [])


def rerank(entries: Sequence[Entry], score: Callable[[Entry, int], float], seeds: Sequence[int]) -> list[Ranked]:
    """``score(entry, seed)``: validation accuracy after training ``entry`` from scratch with
    ``seed``. Returns every entry with its scores, best first."""
    if not entries or not seeds:
        raise ValueError("rerank needs at least one entry and one seed")
    ranked = [Ranked(e, tuple(score(e, s) for s in seeds)) for e in entries]
    return sorted(ranked, key=Ranked.sort_key)


def reinitialise(model, seed: int):
    """The model's weights drawn afresh, as its layers' constructors draw them, in module
    order, from ``seed``: a sub-network extracted from the supernet and the hand-designed
    model built directly then start alike (the same architecture gets the same weights).
    Parameters held directly by a container (the ViT's position embedding) get N(0, 0.02),
    the supernet's own initialisation of them."""
    import torch
    from torch import nn

    torch.manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if hasattr(m, "reset_parameters"):
                m.reset_parameters()
                continue
            for p in m.parameters(recurse=False):
                nn.init.normal_(p, std=0.02)
    return model


__all__ = ("RerankOptions", "Entry", "Ranked", "shortlist", "rerank", "reinitialise")
