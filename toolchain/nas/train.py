"""Supernet training (sandwich rule), sub-network evaluation and plain fine-tuning.

Sandwich rule (BigNAS/OFA): every step trains the largest sub-network, the smallest and two
random ones on the same batch, and steps once on the summed loss, so the shared weights serve
the whole space rather than whatever was sampled last.

Devices: CUDA when present, else CPU. Under ``torchrun`` (RANK/WORLD_SIZE/LOCAL_RANK set) the
step runs in DistributedDataParallel: each rank reads its shard of every batch, all ranks draw
the same four configs (the config RNG is seeded identically), DDP averages the gradients.
The four sub-networks go through one module call (``SandwichStep``) so DDP sees one forward
and one backward per step; ``find_unused_parameters`` because the smaller sub-networks leave
some weights (other patch sizes' embeddings, deeper blocks) untouched.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from toolchain.nas.cnn import recalibrate_bn
from toolchain.nas.data import Dataset, Split
from toolchain.nas.space import Config, Space

Progress = Callable[..., object]  # tqdm-like: progress(iterable, desc=..., total=...) -> iterable


def no_progress(it, **_: object):
    return it


@dataclass(frozen=True)
class TrainOptions:
    epochs: int = 30
    batch_size: int = 32  # small data: more steps matter more than bigger batches (ViTs)
    lr: float = 3e-3
    weight_decay: float = 1e-4
    random_per_step: int = 2  # sandwich: largest + smallest + this many random sub-networks
    # In-place distillation (BigNAS). Off by default: on digits-sized runs the largest ViT is
    # the slowest learner, and a weak teacher held every sub-network back (measured: largest 25%,
    # others ~10% val accuracy after 10 epochs, against 60-90% with labels).
    distill: bool = False
    seed: int = 0
    # CPU threads. One by default: these layers are tiny, and with two or more threads the
    # per-op synchronisation costs more than the work (measured ~20x slower on 2 cores).
    threads: int | None = 1


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


def pick_device(dist: Distributed | None = None) -> torch.device:
    if torch.cuda.is_available():
        return torch.device("cuda", dist.local_rank if dist else 0)
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


def train_supernet(supernet: nn.Module, space: Space, data: Dataset, opts: TrainOptions,
                   progress: Progress = no_progress) -> TrainLog:
    dist = distributed_from_env()
    device = pick_device(dist)
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
    n = len(data.train)
    steps_per_epoch = max(1, n // opts.batch_size)
    total = steps_per_epoch * opts.epochs
    opt = torch.optim.AdamW(supernet.parameters(), lr=opts.lr, weight_decay=opts.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=opts.lr, total_steps=max(total, 1), pct_start=0.15)
    ys = torch.from_numpy(data.train.y)
    inputs = _ResolutionCache(data, device)
    loss_value, step = float("nan"), 0
    for _ in progress(range(opts.epochs), desc="supernet", total=opts.epochs, disable=not _is_main(dist)):
        order = data_rng.permutation(n)
        for s in range(steps_per_epoch):
            idx = order[s * opts.batch_size:(s + 1) * opts.batch_size]
            if dist is not None:
                idx = idx[dist.rank::dist.world]
            configs = [space.largest(), space.smallest()] + [space.sample(arch_rng) for _ in range(opts.random_per_step)]
            xs = [inputs.train(c.resolution)[idx] for c in configs]
            y = ys[idx].to(device)
            logits = step_module(xs, configs)
            loss = sandwich_loss(logits, y, opts.distill)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            loss_value, step = float(loss.detach()) / len(configs), step + 1
    supernet.eval()
    return TrainLog(opts.epochs, step, loss_value, str(device), dist.world if dist else 1)


def sandwich_loss(logits: list[torch.Tensor], y: torch.Tensor, distill: bool) -> torch.Tensor:
    """logits[0] is the largest sub-network's. With distillation (BigNAS) it alone sees the
    labels and the others match its (detached) soft predictions: they then train toward a target
    they can reach, which ranks the small and random sub-networks far better than labels do."""
    if not distill:
        return sum(F.cross_entropy(z, y) for z in logits)
    teacher = F.softmax(logits[0].detach(), dim=1)
    return F.cross_entropy(logits[0], y) + sum(F.cross_entropy(z, teacher) for z in logits[1:])


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


def finetune(model: nn.Module, train: Split, epochs: int, lr: float = 1e-3, batch_size: int = 64,
             seed: int = 0, progress: Progress = no_progress) -> nn.Module:
    """Plain training of one extracted sub-network (its BatchNorm still unfolded)."""
    if epochs <= 0:
        return model.eval()
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    steps = max(1, len(train) // batch_size)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps * epochs)
    x, y = torch.from_numpy(train.x), torch.from_numpy(train.y)
    for _ in progress(range(epochs), desc="fine-tune", total=epochs):
        order = rng.permutation(len(train))
        for s in range(steps):
            idx = order[s * batch_size:(s + 1) * batch_size]
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
    return model.eval()


def train_plain(model: nn.Module, train: Split, epochs: int, lr: float = 3e-3, seed: int = 0,
                progress: Progress = no_progress) -> nn.Module:
    """A hand-designed baseline trained from scratch with the supernet's schedule length."""
    return finetune(model, train, epochs, lr=lr, seed=seed, progress=progress)


__all__: Sequence[str] = ("TrainOptions", "TrainLog", "train_supernet", "SubnetEvaluator", "finetune",
                          "train_plain", "accuracy", "logits_of", "pick_device", "distributed_from_env")
