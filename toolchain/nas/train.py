"""Supernet training (progressive shrinking, sandwich rule, in-place distillation), sub-network
evaluation and the chosen sub-network's own training.

- Progressive shrinking (Once-for-All): training runs through ``shrink_phases(space)``, the
  largest sub-network alone first, then sub-spaces that open one dimension group at a time;
  each phase has its own warm-up + cosine learning-rate schedule (OneCycle) and a share of the
  epochs (``phase_epochs``), the later ones at a lower peak rate, as in OFA.
- Sandwich rule (BigNAS/OFA): every step trains the largest sub-network of the current phase,
  its smallest and ``random_per_step`` random ones on the same batch, and steps once on the
  summed loss, so the shared weights serve the whole space rather than what was sampled last.
- In-place distillation (BigNAS): the largest sees the labels; the others learn from a mix of
  the labels and its detached soft predictions (``distill`` is the soft share).
- Augmentation: random translations of up to ``shift`` pixels per 8 pixels of image.

Devices: CUDA when present (``--device``), else CPU. Under ``torchrun`` (RANK/WORLD_SIZE/
LOCAL_RANK set) the step runs in DistributedDataParallel: each rank reads its shard of every
batch, all ranks draw the same configs (the config RNG is seeded identically), DDP averages
the gradients. The sub-networks go through one module call (``SandwichStep``) so DDP sees one
forward and one backward per step; ``find_unused_parameters`` because the smaller sub-networks
leave some weights (other block types, deeper blocks) untouched.
"""

from __future__ import annotations

import math
import os
import random
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from toolchain.nas.cnn import recalibrate_bn
from toolchain.nas.data import Dataset, Split
from toolchain.nas.space import Config, Space, shrink_phases

Progress = Callable[..., object]  # tqdm-like: progress(iterable, desc=..., total=...) -> iterable


def no_progress(it, **_: object):
    return it


@dataclass(frozen=True)
class TrainOptions:
    epochs: int = 40
    batch_size: int = 64
    lr: float = 3e-3
    weight_decay: float = 1e-4
    random_per_step: int = 2  # sandwich: largest + smallest + this many random sub-networks
    # Share of the epochs per progressive-shrinking phase (largest alone, then wider sub-spaces)
    # and each phase's peak learning rate as a fraction of ``lr``.
    phase_epochs: tuple[float, ...] = (0.25, 0.15, 0.2, 0.4)
    phase_lr: tuple[float, ...] = (1.0, 0.6, 0.6, 0.6)
    # Soft share of the students' loss: teacher's predictions (in-place distillation) vs labels.
    distill: float = 0.5
    # Augmentation: translations up to this many pixels per 8. Off by default: on digits it
    # did not help (hand CNN, 40 epochs, seeds 0/1: 99.2/99.4% test without, 98.6/99.4% with).
    shift: int = 0
    seed: int = 0
    # CPU threads. One by default: these layers are tiny, and with two or more threads the
    # per-op synchronisation costs more than the work (measured ~20x slower on 2 cores).
    threads: int | None = 1
    device: str = "auto"     # "auto" (CUDA when present), "cpu" or "cuda"


@dataclass(frozen=True)
class Distributed:
    rank: int
    world: int
    local_rank: int

    @property
    def main(self) -> bool:
        return self.rank == 0


def distributed_from_env() -> Distributed | None:
    """torchrun's environment, or None in a plain process."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or "RANK" not in os.environ:
        return None
    return Distributed(int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), int(os.environ.get("LOCAL_RANK", "0")))


def pick_device(dist: Distributed | None = None, want: str = "auto") -> torch.device:
    if want != "cpu" and torch.cuda.is_available():
        return torch.device("cuda", dist.local_rank if dist else 0)
    if want == "cuda" and _is_main(dist):
        print("note: --device cuda but no CUDA device is available; training on the CPU", file=sys.stderr)
    return torch.device("cpu")


def init_distributed(dist: Distributed | None, device: torch.device) -> None:
    import torch.distributed as tdist

    if dist is None or tdist.is_initialized():
        return
    if device.type == "cuda":
        torch.cuda.set_device(device)
    tdist.init_process_group("nccl" if device.type == "cuda" else "gloo")


class SandwichStep(nn.Module):
    """Runs several sub-networks of one supernet in a single forward (one DDP call per step)."""

    def __init__(self, supernet: nn.Module) -> None:
        super().__init__()
        self.supernet = supernet

    def forward(self, xs: list[torch.Tensor], configs: list[Config]) -> list[torch.Tensor]:
        return [self.supernet(x, c) for x, c in zip(xs, configs)]


@dataclass(frozen=True)
class TrainLog:
    epochs: int
    steps: int
    final_loss: float
    device: str
    world: int


def phase_plan(epochs: int, shares: Sequence[float], phases: int) -> list[int]:
    """Epochs per phase: ``shares`` scaled to ``epochs``; every phase gets at least one when
    there are enough epochs, and the last phase (the whole space) gets what rounding leaves."""
    shares = list(shares[:phases]) + [0.0] * (phases - len(shares))
    if epochs < phases:  # too short to shrink progressively: train the whole space
        return [0] * (phases - 1) + [epochs]
    plan = [max(1, int(round(epochs * f / sum(shares)))) for f in shares[:-1]]
    return [*plan, max(1, epochs - sum(plan))]


def train_supernet(supernet: nn.Module, space: Space, data: Dataset, opts: TrainOptions,
                   progress: Progress = no_progress) -> TrainLog:
    dist = distributed_from_env()
    device = pick_device(dist, opts.device)
    init_distributed(dist, device)
    if opts.threads:
        torch.set_num_threads(opts.threads)
    torch.manual_seed(opts.seed)
    supernet.to(device).train()
    step_module: nn.Module = SandwichStep(supernet)
    if dist is not None:
        from torch.nn.parallel import DistributedDataParallel as DDP

        step_module = DDP(step_module, device_ids=[device.index] if device.type == "cuda" else None,
                          find_unused_parameters=True)
    arch_rng = random.Random(opts.seed)  # same on every rank: all ranks train the same configs
    data_rng = np.random.default_rng(opts.seed)
    aug = torch.Generator().manual_seed(opts.seed)
    n = len(data.train)
    steps_per_epoch = max(1, n // opts.batch_size)
    phases = shrink_phases(space)
    plan = phase_plan(opts.epochs, opts.phase_epochs, len(phases))
    opt = torch.optim.AdamW(supernet.parameters(), lr=opts.lr, weight_decay=opts.weight_decay)
    ys = torch.from_numpy(data.train.y)
    inputs = _ResolutionCache(data, device)
    loss_value, step = float("nan"), 0
    bar = iter(progress(range(opts.epochs), desc="supernet", total=opts.epochs, disable=not _is_main(dist)))
    for phase, (sub, epochs) in enumerate(zip(phases, plan)):
        if epochs == 0:
            continue
        peak = opts.lr * (opts.phase_lr[phase] if phase < len(opts.phase_lr) else opts.phase_lr[-1])
        for g in opt.param_groups:
            g["lr"] = peak
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=peak, total_steps=steps_per_epoch * epochs,
                                                    pct_start=0.15)
        for _ in range(epochs):
            next(bar, None)
            order = data_rng.permutation(n)
            for s in range(steps_per_epoch):
                idx = order[s * opts.batch_size:(s + 1) * opts.batch_size]
                if dist is not None:
                    idx = idx[dist.rank::dist.world]
                configs = sandwich(sub, arch_rng, opts.random_per_step)
                xs = [shift_batch(inputs.train(c.resolution)[idx], opts.shift, aug) for c in configs]
                y = ys[idx].to(device)
                logits = step_module(xs, configs)
                loss = sandwich_loss(logits, y, opts.distill)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                loss_value, step = float(loss.detach()) / len(configs), step + 1
    next(bar, None)
    supernet.eval()
    return TrainLog(opts.epochs, step, loss_value, str(device), dist.world if dist else 1)


def sandwich(space: Space, rng: random.Random, random_per_step: int) -> list[Config]:
    """Largest first (the teacher), then the smallest and random ones; one config when the
    (sub-)space holds only its largest."""
    big, small = space.largest(), space.smallest()
    if big == small:
        return [big]
    return [big, small] + [space.sample(rng) for _ in range(random_per_step)]


def sandwich_loss(logits: list[torch.Tensor], y: torch.Tensor, distill: float) -> torch.Tensor:
    """logits[0] is the largest sub-network's and sees the labels only. The others learn from
    ``distill`` x its detached soft predictions + (1 - ``distill``) x the labels (BigNAS's
    in-place distillation at 1.0): a target the small ones can reach, which ranks them better."""
    loss = F.cross_entropy(logits[0], y)
    if len(logits) == 1:
        return loss
    teacher = F.softmax(logits[0].detach(), dim=1)
    for z in logits[1:]:
        loss = loss + distill * F.cross_entropy(z, teacher) + (1.0 - distill) * F.cross_entropy(z, y)
    return loss


def shift_batch(x: torch.Tensor, shift: int, gen: torch.Generator) -> torch.Tensor:
    """Each image translated by a random whole number of pixels, up to ``shift`` per 8 pixels
    of its side, zeros shifted in (digits have a blank border)."""
    s = int(math.ceil(shift * x.shape[-1] / 8)) if shift else 0
    if s == 0:
        return x
    n, h = x.shape[0], x.shape[-1]
    padded = F.pad(x, (s, s, s, s))
    d = torch.randint(0, 2 * s + 1, (n, 2), generator=gen).tolist()
    return torch.stack([padded[i, :, dy:dy + h, dx:dx + h] for i, (dy, dx) in enumerate(d)])


def _is_main(dist: Distributed | None) -> bool:
    return dist is None or dist.main


class _ResolutionCache:
    """Training images per resolution, as tensors on the device (digits-sized data sets)."""

    def __init__(self, data: Dataset, device: torch.device) -> None:
        self._data, self._device = data, device
        self._train: dict[int, torch.Tensor] = {}

    def train(self, res: int) -> torch.Tensor:
        if res not in self._train:
            self._train[res] = torch.from_numpy(self._data.at(res).train.x).to(self._device)
        return self._train[res]


@torch.no_grad()
def logits_of(model: Callable[[torch.Tensor], torch.Tensor], x: np.ndarray, device: torch.device,
              batch: int = 256) -> np.ndarray:
    out = [model(torch.from_numpy(x[i:i + batch]).to(device)).float().cpu().numpy() for i in range(0, len(x), batch)]
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


def accuracy(logits: np.ndarray, y: np.ndarray) -> float:
    return float((logits.argmax(axis=1) == y).mean()) if len(y) else 0.0


class SubnetEvaluator:
    """Validation accuracy of a config with inherited supernet weights (cached by config).

    BatchNorm statistics are recalibrated on a fixed set of training batches first, so the
    score depends on the config alone, not on what was evaluated before it."""

    def __init__(self, supernet: nn.Module, data: Dataset, calib_batches: int = 4, batch_size: int = 128,
                 seed: int = 0) -> None:
        self.supernet = supernet
        self.data = data
        self.device = next(supernet.parameters()).device
        rng = np.random.default_rng(seed)
        self._calib_idx = rng.permutation(len(data.train))[:calib_batches * batch_size]
        self._batch = batch_size
        self._cache: dict[Config, float] = {}

    def prepare(self, c: Config) -> None:
        """Recalibrate BN for c (no-op without BatchNorm); call before evaluating or extracting."""
        x = self.data.at(c.resolution).train.x[self._calib_idx]
        batches = [torch.from_numpy(x[i:i + self._batch]).to(self.device) for i in range(0, len(x), self._batch)]
        recalibrate_bn(self.supernet, lambda b: self.supernet(b, c), batches)
        self.supernet.eval()

    def __call__(self, c: Config) -> float:
        if c not in self._cache:
            self.prepare(c)
            split = self.data.at(c.resolution).val
            self._cache[c] = accuracy(logits_of(lambda b: self.supernet(b, c), split.x, self.device), split.y)
        return self._cache[c]

    def extract(self, c: Config) -> nn.Module:
        self.prepare(c)
        return self.supernet.extract(c).cpu().eval()


@dataclass(frozen=True)
class FinetuneOptions:
    """The chosen sub-network's own training, from the supernet's weights (or from scratch for
    a hand-designed baseline): warm-up + cosine (OneCycle), the supernet's augmentation."""
    epochs: int = 30
    lr: float = 2e-3
    batch_size: int = 64
    weight_decay: float = 1e-4
    shift: int = 0
    seed: int = 0


def finetune(model: nn.Module, train: Split, opts: FinetuneOptions = FinetuneOptions(),
             progress: Progress = no_progress, desc: str = "fine-tune") -> nn.Module:
    """Plain training of one extracted sub-network (its BatchNorm still unfolded)."""
    if opts.epochs <= 0:
        return model.eval()
    torch.manual_seed(opts.seed)
    rng = np.random.default_rng(opts.seed)
    aug = torch.Generator().manual_seed(opts.seed)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=opts.lr, weight_decay=opts.weight_decay)
    steps = max(1, len(train) // opts.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=opts.lr, total_steps=steps * opts.epochs, pct_start=0.1)
    x, y = torch.from_numpy(train.x), torch.from_numpy(train.y)
    for _ in progress(range(opts.epochs), desc=desc, total=opts.epochs):
        order = rng.permutation(len(train))
        for s in range(steps):
            idx = order[s * opts.batch_size:(s + 1) * opts.batch_size]
            loss = F.cross_entropy(model(shift_batch(x[idx], opts.shift, aug)), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
    return model.eval()


__all__: Sequence[str] = ("TrainOptions", "FinetuneOptions", "TrainLog", "train_supernet", "SubnetEvaluator",
                          "finetune", "accuracy", "logits_of", "pick_device", "distributed_from_env")
