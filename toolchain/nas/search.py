"""``run_nas``: the whole flow behind ``mcuforge nas``, callable from Python.

data -> supernet (progressive shrinking, sandwich rule, in-place distillation) -> evolutionary
search under the board's budget, every candidate compiled -> re-ranking (``rerank``): the best
few candidates and the hand-designed model of the budget trained from scratch with the hand
design's schedule, picked by validation accuracy -> the winner trained from scratch with that
schedule on training + validation data, BN folded, exported to ONNX -> compiled and linked for
the board (arena and flash reported are this file's and this ELF's) -> its C run on the test
split and compared, sample by sample, with PyTorch. With ``baseline`` the hand-designed model
is trained the same way (same schedule, seed and data) and measured the same way.
"""

from __future__ import annotations

import copy
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch
from torch import nn

from toolchain.errors import DoesNotFitError, McuforgeError
from toolchain.nas.data import Dataset, load_dataset
from toolchain.nas.deploy import DeployCheck, Runner, compiled_accuracy, export_subnet, host_runner
from toolchain.nas.evolution import (Candidate, EvolutionOptions, SearchLog, check_smallest_fits, evolve,
                                     pareto_front)
from toolchain.nas.measure import Budget, Footprint, FootprintCache, board_budget, code_bytes_of, elf_footprint
from toolchain.nas.rerank import Entry, Ranked, RerankOptions, reinitialise, rerank, shortlist
from toolchain.nas.space import Config, Family, Space, ViTSpace, config_to_dict, space_for
from toolchain.nas.train import (FinetuneOptions, Progress, SubnetEvaluator, TrainLog, TrainOptions, accuracy,
                                 distributed_from_env, finetune, logits_of, no_progress, train_supernet)


@dataclass(frozen=True)
class NasOptions:
    family: Family = "vit"
    board: str = "stm32f746-disco"
    dataset: str | Path = "digits"
    ram_budget: int | None = None      # bytes; default: the board's RAM less its stack
    flash_budget: int | None = None    # bytes; default: the board's flash
    train: TrainOptions = TrainOptions()
    evolution: EvolutionOptions = EvolutionOptions()
    finetune: FinetuneOptions = FinetuneOptions()
    rerank: RerankOptions = RerankOptions()
    baseline: bool = False             # also train and measure the hand-designed reference
    space: Space | None = None         # default: space_for(family), sized for the dataset
    out: Path | None = None            # where the chosen ONNX goes
    seed: int = 0
    progress: bool = False


@dataclass
class Trained:
    """One model as shipped: its label, footprint (flash from its own ELF) and the check of its
    compiled C against PyTorch on the test split."""
    label: str
    footprint: Footprint
    check: DeployCheck

    def to_json(self) -> dict:
        f = self.footprint
        return {"model": self.label, "accuracy": self.check.c_accuracy, "torch_accuracy": self.check.torch_accuracy,
                "agree": self.check.agree, "samples": self.check.samples,
                "max_abs_logit_diff": self.check.max_abs_diff, "arena_bytes": f.arena_bytes,
                "flash_bytes": f.flash_bytes, "weight_bytes": f.weight_bytes, "code_bytes": f.code_bytes,
                "macs": f.macs}


@dataclass
class NasResult:
    family: Family
    budget: Budget
    config: Config
    val_accuracy: float        # re-ranking score: mean validation accuracy, trained from scratch
    inherited_accuracy: float | None  # supernet weights, test split, PyTorch (None: config not in the space)
    chosen: Trained            # after the final training: compiled C vs PyTorch on the test split
    pareto: list[Candidate]
    search: SearchLog
    train_log: TrainLog
    onnx_path: Path | None
    baseline: Trained | None = None
    seconds: dict[str, float] = field(default_factory=dict)
    ranking: list[Ranked] = field(default_factory=list)  # the re-ranking, best first
    label: str = ""            # the chosen model's name (its config's, or the hand design's)

    @property
    def check(self) -> DeployCheck:
        return self.chosen.check

    @property
    def accuracy(self) -> float:
        return self.check.c_accuracy

    @property
    def arena_bytes(self) -> int:
        return self.chosen.footprint.arena_bytes

    @property
    def flash_bytes(self) -> int:
        return self.chosen.footprint.flash_bytes

    @property
    def weight_bytes(self) -> int:
        return self.chosen.footprint.weight_bytes

    def to_json(self) -> dict:
        return {
            "family": self.family, "board": self.budget.board,
            **self.chosen.to_json(),
            "val_accuracy": self.val_accuracy, "inherited_accuracy": self.inherited_accuracy,
            "ram_budget": self.budget.ram_bytes, "flash_budget": self.budget.flash_bytes,
            "config": config_to_dict(self.config), "summary": self.config.short(),
            "pareto": [candidate_json(c) for c in self.pareto],
            "searched": len(self.search.evaluated), "compiled": self.search.measured,
            "rejected": self.search.rejected,
            "onnx": str(self.onnx_path) if self.onnx_path else None,
            "train": {"epochs": self.train_log.epochs, "steps": self.train_log.steps,
                      "device": self.train_log.device, "world_size": self.train_log.world},
            "baseline": self.baseline.to_json() if self.baseline else None,
            "rerank": [{"model": r.entry.label, "hand": r.entry.hand, "inherited_val": r.entry.inherited,
                        "val_per_seed": list(r.val), "val_mean": r.mean,
                        "arena_bytes": r.entry.footprint.arena_bytes} for r in self.ranking],
            "seconds": {k: round(v, 2) for k, v in self.seconds.items()},
        }


def candidate_json(c: Candidate) -> dict:
    return {"config": config_to_dict(c.config), "summary": c.config.short(), "accuracy": c.accuracy,
            "arena_bytes": c.arena_bytes, "flash_bytes": c.flash_bytes, "macs": c.footprint.macs}


def fitted_space(family: Family, data: Dataset) -> Space:
    """The default space with the data's channels and classes."""
    return replace(space_for(family), channels=data.channels, classes=data.classes)


TEACHER_RAM_FACTOR = 5  # the largest sub-network's arena, at most this many budgets


def budget_space(space: Space, budget: Budget, channels: int) -> Space:
    """The space without the resolutions and widths (ViT: embeddings) at which even the
    smallest sub-network does not fit the RAM budget (measured by compiling it), then without
    its top resolutions (then widths) while its largest sub-network needs more than
    ``TEACHER_RAM_FACTOR`` budgets: the supernet then trains, and distils from, a largest
    sub-network of the budget's scale rather than one many times too big, which is both
    faster and a better teacher for what can ship."""
    dims = (("resolutions", "resolution"), ("widths", "width")) if space.family == "cnn" else \
        (("resolutions", "resolution"), ("embeds", "embed"))
    probe = build_supernet(space)
    measure = FootprintCache(lambda c: probe.extract(c).cpu(), channels, lambda c: c.resolution)
    ram_only = replace(budget, flash_bytes=1 << 62)
    for choices, name in dims:
        small = space.smallest()
        keep = []
        for v in getattr(space, choices):
            c = space.canonical(replace(small, **{name: v}))
            if space.is_valid(c) and ram_only.fits(measure(c)):
                keep.append(v)
        space = replace(space, **{choices: tuple(keep) or (getattr(small, name),)})
    for choices, _ in dims:
        while len(getattr(space, choices)) > 1 and \
                measure(space.largest()).arena_bytes > TEACHER_RAM_FACTOR * budget.ram_bytes:
            space = replace(space, **{choices: getattr(space, choices)[:-1]})
    return space


def build_supernet(space: Space) -> nn.Module:
    if isinstance(space, ViTSpace):
        from toolchain.nas.vit import ViTSupernet

        return ViTSupernet(space)
    from toolchain.nas.cnn import CNNSupernet

    return CNNSupernet(space)


def tqdm_progress(enabled: bool) -> Progress:
    if not enabled:
        return no_progress
    from tqdm.auto import tqdm

    def bar(it, desc: str = "", total: int | None = None, disable: bool = False):
        return tqdm(it, desc=desc, total=total, disable=disable, leave=False, dynamic_ncols=True)

    return bar


def run_nas(opts: NasOptions, runner: Runner | None = None, data: Dataset | None = None) -> NasResult | None:
    """Returns None on the non-zero ranks of a torchrun launch: they only help train."""
    progress = tqdm_progress(opts.progress)
    seconds: dict[str, float] = {}
    wall0, cpu0 = time.perf_counter(), cpu_seconds()
    budget = board_budget(opts.board, opts.ram_budget, opts.flash_budget)
    data = data if data is not None else load_dataset(opts.dataset, opts.seed)
    space = opts.space or budget_space(fitted_space(opts.family, data), budget, data.channels)
    if space.family != opts.family:
        raise McuforgeError(f"search space is for {space.family!r}, family is {opts.family!r}")
    if (space.channels, space.classes) != (data.channels, data.classes):
        raise McuforgeError(f"the space expects {space.channels} channels and {space.classes} classes; "
                            f"dataset {data.name!r} has {data.channels} and {data.classes}")
    dist = distributed_from_env()
    main = dist is None or dist.main

    t0 = time.perf_counter()
    torch.manual_seed(opts.seed)
    supernet = build_supernet(space)
    # Footprints depend on shapes only: fail before training when nothing in the space fits
    # the RAM. The code bytes for flash come from an ELF linked while the supernet trains.
    check_smallest_fits(space, FootprintCache(lambda c: supernet.extract(c).cpu(), data.channels,
                                              lambda c: c.resolution), replace(budget, flash_bytes=1 << 62))
    pool = ThreadPoolExecutor(max_workers=1)
    smallest = copy.deepcopy(supernet.extract(space.smallest())) if main else None
    code = pool.submit(code_bytes_of, smallest, data.channels, space.smallest().resolution, budget.board) \
        if main else None
    try:
        train_log = train_supernet(supernet, space, data, replace(opts.train, seed=opts.seed), progress)
        seconds["train"] = time.perf_counter() - t0
        if dist is not None:
            import torch.distributed as tdist

            tdist.barrier()
            tdist.destroy_process_group()
        if not main:
            return None
        assert code is not None
        code_bytes = code.result()
    finally:
        pool.shutdown(wait=True)

    t0 = time.perf_counter()
    measure = FootprintCache(lambda c: supernet.extract(c).cpu(), data.channels, lambda c: c.resolution, code_bytes)
    evaluator = SubnetEvaluator(supernet, data, seed=opts.seed)
    log = evolve(space, evaluator, measure, budget, opts.evolution, progress, seeds=hand_seeds(space))
    seconds["search"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    base = hand_baseline(opts, budget, data, code_bytes, space)
    hand_entry = None if base is None else Entry(base.label, base.config, base.footprint, None, hand=True)
    sched = hand_schedule(opts)

    def fresh(e: Entry) -> nn.Module:
        """Untrained: the hand model as built, a searched config as extracted (then reinitialised)."""
        assert base is not None or not e.hand
        return copy.deepcopy(base.model) if e.hand else evaluator.extract(e.config)

    def resolution(e: Entry) -> int:
        return base.resolution if e.hand else e.config.resolution  # type: ignore[union-attr]

    def score(e: Entry, seed: int) -> float:
        split = data.at(resolution(e))
        model = finetune(reinitialise(fresh(e), seed), split.train, replace(sched, seed=seed), progress=progress,
                         desc=f"rerank seed {seed}")
        return accuracy(logits_of(model, split.val.x, torch.device("cpu")), split.val.y)

    # --rerank 0 re-trains the hand design alone; with no hand design either, the search's best.
    entries = shortlist(log.evaluated, opts.rerank.top_k, hand_entry) or shortlist(log.evaluated, 1, None)
    ranking = rerank(entries, score, [opts.seed + i for i in range(opts.rerank.seeds)])
    win = ranking[0].entry
    seconds["rerank"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    inherited = None
    if space.is_valid(win.config):
        split = data.at(win.config.resolution)
        inherited = accuracy(logits_of(evaluator.extract(win.config), split.test.x, torch.device("cpu")), split.test.y)
    # The validation split has chosen the architecture; the final training learns from it too,
    # exactly as the hand baseline does (same schedule, same seed).
    model = finetune(reinitialise(fresh(win), opts.seed), data.at(resolution(win)).train_val,
                     replace(sched, seed=opts.seed), progress=progress, desc="final")
    seconds["retrain"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    chosen = ship(model, data, resolution(win), win.label, budget, runner, progress, opts.out)
    seconds["export_check"] = time.perf_counter() - t0

    hand = None
    if opts.baseline:
        if base is None:
            raise DoesNotFitError(f"no hand-designed {opts.family} fits {budget.describe()}")
        t0 = time.perf_counter()
        # the hand design won the re-ranking: the chosen model is the baseline (same model,
        # schedule, seed and data), not trained and shipped a second time
        hand = chosen if win.hand else train_baseline(opts, budget, data, code_bytes, runner, progress, base)
        seconds["baseline"] = time.perf_counter() - t0
    # On a shared machine wall time says how loaded it was; CPU time what the search cost.
    seconds["wall"], seconds["cpu"] = time.perf_counter() - wall0, cpu_seconds() - cpu0
    return NasResult(opts.family, budget, win.config, ranking[0].mean, inherited, chosen,
                     pareto_front(log.evaluated), log, train_log, opts.out, hand, seconds, ranking, win.label)


def hand_schedule(opts: NasOptions) -> FinetuneOptions:
    """The one from-scratch schedule of the hand baseline, the re-ranking and the chosen
    model's final training: as many epochs as supernet and retraining together, the
    supernet's peak learning rate, warm-up + cosine (``finetune``)."""
    return replace(opts.finetune, epochs=opts.train.epochs + opts.finetune.epochs, lr=opts.train.lr, seed=opts.seed)


def hand_baseline(opts: NasOptions, budget: Budget, data: Dataset, code_bytes: int, space: Space):
    """The widest hand-designed model that fits the budget (None when none does)."""
    from toolchain.nas.baseline import fit_baseline

    try:
        return fit_baseline(budget, data.channels, data.classes, data.size, opts.family, code_bytes, space)
    except DoesNotFitError:
        return None


def hand_seeds(space: Space) -> tuple[Config, ...]:
    """The hand-designed model of the family at every width and resolution of the space, for
    the first population (evolve keeps those that fit)."""
    from toolchain.nas.baseline import hand_vit_config
    from toolchain.nas.space import hand_cnn

    if isinstance(space, ViTSpace):
        return tuple(hand_vit_config(e, r, space) for e in space.embeds for r in space.resolutions)
    return tuple(hand_cnn(space, w, r) for w in space.widths for r in space.resolutions)


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (compilers, linkers, QEMU)."""
    import resource

    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def ship(model: nn.Module, data: Dataset, resolution: int, label: str, budget: Budget, runner: Runner | None,
         progress: Progress, out: Path | None = None) -> Trained:
    """Export, compile and link for the board; check the budget on the ELF; run the C."""
    exported = export_subnet(model, data.channels, resolution, out)
    fp = elf_footprint(exported.compiled, budget.board)
    # The file shipped is the file measured: same exporter, same shapes, so the same arena.
    if not budget.fits(fp):
        raise DoesNotFitError(f"exported {label} needs {fp.arena_bytes:,} B RAM, {fp.flash_bytes:,} B flash "
                              f"(linked); budget {budget.describe()}")
    check = compiled_accuracy(exported, data.at(resolution).test, runner or host_runner(progress))
    return Trained(label, fp, check)


def train_baseline(opts: NasOptions, budget: Budget, data: Dataset, code_bytes: int, runner: Runner | None,
                   progress: Progress = no_progress, base=None) -> Trained:
    """The family's hand-designed model, widest that fits, trained from scratch exactly as the
    chosen model's final training (``hand_schedule``, seed, training + validation data)."""
    from toolchain.nas.baseline import fit_baseline

    if base is None:
        base = fit_baseline(budget, data.channels, data.classes, data.size, opts.family, code_bytes)
    model = finetune(reinitialise(copy.deepcopy(base.model), opts.seed), data.at(base.resolution).train_val,
                     hand_schedule(opts), progress=progress, desc="baseline")
    return ship(model, data, base.resolution, base.label, budget, runner, progress)
