"""Evolutionary search under a measured memory budget, and the Pareto front of what it saw.

MCUFormer's loop (from AutoFormer): a population of configs that fit the budget; each
generation keeps the ``parents`` most accurate, then breeds ``mutations`` mutants and
``crossovers`` children from them; a child that does not fit is discarded and bred again.
The difference from MCUFormer is the fit test: each child is exported and compiled by our own
memory planner (``measure``), so "fits" is exact for the code we generate.

Accuracy and footprint are callables (cached by config by their owners); the loop itself is
plain Python, so tests drive it with stand-ins.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from toolchain.errors import DoesNotFitError
from toolchain.nas.measure import Budget, Footprint
from toolchain.nas.space import Config, Space
from toolchain.nas.train import Progress, no_progress


@dataclass(frozen=True)
class EvolutionOptions:
    population: int = 20
    parents: int = 6         # "top k" kept and bred from
    mutations: int = 10
    crossovers: int = 10
    generations: int = 8
    mutation_prob: float = 0.3
    max_tries: int = 50      # per child: breeding attempts before giving up on a fitting one
    seed: int = 0


@dataclass(frozen=True)
class Candidate:
    config: Config
    accuracy: float          # validation split, inherited supernet weights
    footprint: Footprint

    @property
    def arena_bytes(self) -> int:
        return self.footprint.arena_bytes

    @property
    def flash_bytes(self) -> int:
        return self.footprint.flash_bytes

    def sort_key(self) -> tuple[float, int, int]:
        # Most accurate first; among equals the one that leaves the most RAM, then flash.
        return (-self.accuracy, self.arena_bytes, self.flash_bytes)


@dataclass
class SearchLog:
    best: Candidate
    evaluated: list[Candidate]   # every fitting config scored, in order of first evaluation
    rejected: int                # children measured and found over budget
    measured: int                # distinct configs compiled
    best_per_generation: list[float]


def evolve(space: Space, accuracy: Callable[[Config], float], measure: Callable[[Config], Footprint],
           budget: Budget, opts: EvolutionOptions = EvolutionOptions(),
           progress: Progress = no_progress, seeds: tuple[Config, ...] = ()) -> SearchLog:
    """seeds: configs put in the first population when they are valid and fit (known-good
    designs, e.g. the hand-designed model: the search then never starts below it)."""
    rng = random.Random(opts.seed)
    scored: dict[Config, Candidate] = {}
    measured: set[Config] = set()
    rejected = 0

    def fits(c: Config) -> bool:
        nonlocal rejected
        ok = budget.fits(measure(c))
        if not ok and c not in measured:
            rejected += 1
        measured.add(c)
        return ok

    def score(c: Config) -> Candidate:
        if c not in scored:
            scored[c] = Candidate(c, accuracy(c), measure(c))
        return scored[c]

    def breed(make: Callable[[], Config]) -> Config | None:
        for _ in range(opts.max_tries):
            c = make()
            if fits(c):
                return c
        return None

    smallest = check_smallest_fits(space, measure, budget)
    measured.add(smallest)

    # Initial population: random configs that fit (the smallest always does).
    population = [score(smallest)]
    for c in seeds:
        if space.is_valid(c) and fits(c):
            population.append(score(c))
    for _ in range(opts.max_tries * opts.population):
        if len(population) >= opts.population:
            break
        c = space.sample(rng)
        if fits(c):
            population.append(score(c))
    best_per_gen: list[float] = []
    for _ in progress(range(opts.generations), desc=f"search {space.family}", total=opts.generations):
        population = _unique(population)
        population.sort(key=Candidate.sort_key)
        parents = population[:opts.parents]
        best_per_gen.append(parents[0].accuracy)
        children: list[Candidate] = []
        for _ in range(opts.mutations):
            c = breed(lambda: space.mutate(rng.choice(parents).config, rng, opts.mutation_prob))
            if c is not None:
                children.append(score(c))
        for _ in range(opts.crossovers):
            c = breed(lambda: space.crossover(rng.choice(parents).config, rng.choice(parents).config, rng))
            if c is not None:
                children.append(score(c))
        population = parents + children
    everything = sorted(scored.values(), key=Candidate.sort_key)
    return SearchLog(everything[0], list(scored.values()), rejected, len(measured), best_per_gen)


def check_smallest_fits(space: Space, measure: Callable[[Config], Footprint], budget: Budget) -> Config:
    smallest = space.smallest()
    f = measure(smallest)
    if not budget.fits(f):
        raise DoesNotFitError(
            f"even the smallest {space.family} ({smallest.short()}) needs {f.arena_bytes:,} B RAM and "
            f"{f.flash_bytes:,} B flash; the budget is {budget.describe()}")
    return smallest


def _unique(cands: list[Candidate]) -> list[Candidate]:
    seen: dict[Config, Candidate] = {}
    for c in cands:
        seen.setdefault(c.config, c)
    return list(seen.values())


def pareto_front(cands: list[Candidate]) -> list[Candidate]:
    """Candidates no other beats on all of accuracy (higher), RAM and flash (lower), with at
    least one strictly; sorted by RAM."""
    def dominates(a: Candidate, b: Candidate) -> bool:
        ge = a.accuracy >= b.accuracy and a.arena_bytes <= b.arena_bytes and a.flash_bytes <= b.flash_bytes
        gt = a.accuracy > b.accuracy or a.arena_bytes < b.arena_bytes or a.flash_bytes < b.flash_bytes
        return ge and gt

    front = [c for c in cands if not any(dominates(o, c) for o in cands)]
    return sorted(_unique(front), key=lambda c: (c.arena_bytes, c.flash_bytes, -c.accuracy))
