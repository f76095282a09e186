"""``run_nas``: the whole flow behind ``mcuforge nas``, callable from Python.

data -> supernet (sandwich training) -> evolutionary search under the board's budget, every
candidate compiled -> the winner extracted, optionally fine-tuned, BN folded, exported to ONNX
-> compiled again (arena and flash reported are this file's) -> its C run on the test split
and compared, sample by sample, with PyTorch.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch
from torch import nn

from toolchain.errors import DoesNotFitError, McuforgeError
from toolchain.nas.data import Dataset, load_dataset
from toolchain.nas.deploy import DeployCheck, Runner, compiled_accuracy, export_subnet, host_runner
from toolchain.nas.evolution import (Candidate, EvolutionOptions, SearchLog, check_smallest_fits, evolve,
                                     pareto_front)
from toolchain.nas.measure import CODE_ALLOWANCE_BYTES, Budget, FootprintCache, board_budget
from toolchain.nas.space import Config, Family, Space, ViTSpace, config_to_dict, space_for
from toolchain.nas.train import (Progress, SubnetEvaluator, TrainLog, TrainOptions, distributed_from_env,
                                 finetune, no_progress, train_supernet)


@dataclass(frozen=True)
class NasOptions:
    family: Family = "vit"
    board: str = "stm32f746-disco"
    dataset: str | Path = "digits"
    ram_budget: int | None = None      # bytes; default: the board's RAM less its stack
    flash_budget: int | None = None    # bytes; default: the board's flash
    train: TrainOptions = TrainOptions()
    evolution: EvolutionOptions = EvolutionOptions()
    finetune_epochs: int = 0
    space: Space | None = None         # default: space_for(family), sized for the dataset
    out: Path | None = None            # where the chosen ONNX goes
    seed: int = 0
    progress: bool = False


@dataclass
class NasResult:
    family: Family
    budget: Budget
    config: Config
    val_accuracy: float        # supernet-inherited weights, validation split (the search score)
    check: DeployCheck         # the exported model: compiled C vs PyTorch on the test split
    arena_bytes: int
    weight_bytes: int
    macs: int
    pareto: list[Candidate]
    search: SearchLog
    train_log: TrainLog
    onnx_path: Path | None
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def accuracy(self) -> float:
        return self.check.c_accuracy

    @property
    def flash_bytes(self) -> int:
        return self.weight_bytes + CODE_ALLOWANCE_BYTES

    def to_json(self) -> dict:
        return {
            "family": self.family, "board": self.budget.board,
            "accuracy": self.accuracy, "torch_accuracy": self.check.torch_accuracy,
            "val_accuracy": self.val_accuracy, "agree": self.check.agree, "samples": self.check.samples,
            "max_abs_logit_diff": self.check.max_abs_diff,
            "arena_bytes": self.arena_bytes, "flash_bytes": self.flash_bytes, "weight_bytes": self.weight_bytes,
            "code_allowance_bytes": CODE_ALLOWANCE_BYTES, "macs": self.macs,
            "ram_budget": self.budget.ram_bytes, "flash_budget": self.budget.flash_bytes,
            "config": config_to_dict(self.config), "summary": self.config.short(),
            "pareto": [candidate_json(c) for c in self.pareto],
            "searched": len(self.search.evaluated), "compiled": self.search.measured,
            "rejected": self.search.rejected,
            "onnx": str(self.onnx_path) if self.onnx_path else None,
            "train": {"epochs": self.train_log.epochs, "steps": self.train_log.steps,
                      "device": self.train_log.device, "world_size": self.train_log.world},
            "seconds": {k: round(v, 2) for k, v in self.seconds.items()},
        }


def candidate_json(c: Candidate) -> dict:
    return {"config": config_to_dict(c.config), "summary": c.config.short(), "accuracy": c.accuracy,
            "arena_bytes": c.arena_bytes, "flash_bytes": c.flash_bytes, "macs": c.footprint.macs}


def fitted_space(family: Family, data: Dataset) -> Space:
    """The default space with the data's channels and classes."""
    return replace(space_for(family), channels=data.channels, classes=data.classes)


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
    budget = board_budget(opts.board, opts.ram_budget, opts.flash_budget)
    data = data if data is not None else load_dataset(opts.dataset, opts.seed)
    space = opts.space or fitted_space(opts.family, data)
    if space.family != opts.family:
        raise McuforgeError(f"search space is for {space.family!r}, family is {opts.family!r}")
    if (space.channels, space.classes) != (data.channels, data.classes):
        raise McuforgeError(f"the space expects {space.channels} channels and {space.classes} classes; "
                            f"dataset {data.name!r} has {data.channels} and {data.classes}")

    t0 = time.perf_counter()
    torch.manual_seed(opts.seed)
    supernet = build_supernet(space)
    measure = FootprintCache(lambda c: supernet.extract(c).cpu(), data.channels, lambda c: c.resolution)
    # Footprints depend on shapes only: fail before training when nothing in the space fits.
    check_smallest_fits(space, measure, budget)
    train_log = train_supernet(supernet, space, data, opts.train, progress)
    seconds["train"] = time.perf_counter() - t0
    dist = distributed_from_env()
    if dist is not None:
        import torch.distributed as tdist

        tdist.barrier()
        tdist.destroy_process_group()
        if not dist.main:
            return None

    t0 = time.perf_counter()
    evaluator = SubnetEvaluator(supernet, data, seed=opts.seed)
    log = evolve(space, evaluator, measure, budget, opts.evolution, progress)
    seconds["search"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    best = log.best
    model = evaluator.extract(best.config)
    split = data.at(best.config.resolution)
    model = finetune(model, split.train, opts.finetune_epochs, seed=opts.seed, progress=progress)
    exported = export_subnet(model, data.channels, best.config.resolution, opts.out)
    # The file shipped is the file measured: same exporter, same shapes, so the same footprint.
    if not budget.fits(exported.footprint):
        raise DoesNotFitError(f"exported {best.config.short()} needs {exported.footprint.arena_bytes:,} B RAM, "
                              f"{exported.footprint.flash_bytes:,} B flash; budget {budget.describe()}")
    check = compiled_accuracy(exported, split.test, runner or host_runner(progress))
    seconds["export_check"] = time.perf_counter() - t0

    fp = exported.footprint
    return NasResult(opts.family, budget, best.config, best.accuracy, check, fp.arena_bytes, fp.weight_bytes,
                     fp.macs, pareto_front(log.evaluated), log, train_log, opts.out, seconds)
