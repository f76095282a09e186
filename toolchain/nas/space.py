"""Search spaces: the choices (a Space) and one point in them (a Config), as frozen dataclasses.

Pure Python (no torch) so the evolutionary operators and their tests run without the `[nas]`
extra. Every Config is *canonical*: slots beyond the active depth hold a fixed filler value,
so two configs that describe the same sub-network compare (and hash, and cache) equal.

- ViT (MCUFormer): input resolution, patch size, embedding width, depth, heads, MLP ratio and a
  low-rank rank per block (``"dense"`` allowed). A rank applies to the six linears of a block
  (q, k, v, proj, fc1, fc2); where a factored linear would not be smaller than the dense one
  the export uses the dense matrix (see ``use_dense``).
- CNN (MCUNet-like): input resolution, width multiplier, depth per stage, and per block slot
  a depthwise kernel size and an expansion ratio of an inverted-residual block.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, fields, replace
from typing import ClassVar, Literal, Union

Rank = Union[int, Literal["dense"]]
Family = Literal["vit", "cnn"]
FAMILIES: tuple[Family, ...] = ("vit", "cnn")


def use_dense(rank: Rank, d_in: int, d_out: int) -> bool:
    """A rank-r chain stores r*(d_in + d_out) weights; it only pays when that is fewer."""
    return rank == "dense" or rank * (d_in + d_out) >= d_in * d_out


def _rank_key(r: Rank) -> int:
    return 1 << 30 if r == "dense" else int(r)


# ---- ViT ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ViTConfig:
    resolution: int
    patch: int
    embed: int
    depth: int
    heads: int
    mlp_ratio: float
    ranks: tuple[Rank, ...]  # one per block slot (max depth); slots >= depth are filler

    @property
    def grid(self) -> int:
        return self.resolution // self.patch

    @property
    def tokens(self) -> int:
        return self.grid * self.grid

    @property
    def hidden(self) -> int:
        return int(self.embed * self.mlp_ratio)

    def short(self) -> str:
        ranks = ",".join(str(r) for r in self.ranks[:self.depth])
        return (f"vit r{self.resolution} p{self.patch} e{self.embed} d{self.depth} h{self.heads} "
                f"m{self.mlp_ratio:g} rank[{ranks}]")


@dataclass(frozen=True)
class ViTSpace:
    resolutions: tuple[int, ...] = (8, 16)
    patches: tuple[int, ...] = (2, 4)
    embeds: tuple[int, ...] = (16, 32, 48)
    depths: tuple[int, ...] = (1, 2, 3)
    heads: tuple[int, ...] = (1, 2, 4)
    mlp_ratios: tuple[float, ...] = (1.0, 2.0)
    ranks: tuple[Rank, ...] = (4, 8, 16, "dense")
    channels: int = 1
    classes: int = 10

    family: ClassVar[Family] = "vit"

    @property
    def max_depth(self) -> int:
        return max(self.depths)

    def is_valid(self, c: ViTConfig) -> bool:
        return (c.resolution in self.resolutions and c.patch in self.patches and c.embed in self.embeds
                and c.depth in self.depths and c.heads in self.heads and c.mlp_ratio in self.mlp_ratios
                and len(c.ranks) == self.max_depth and all(r in self.ranks for r in c.ranks)
                and c.resolution % c.patch == 0 and c.grid >= 2 and c.embed % c.heads == 0
                and c.hidden >= 1 and c == self.canonical(c))

    def canonical(self, c: ViTConfig) -> ViTConfig:
        ranks = tuple(r if i < c.depth else self.ranks[0] for i, r in enumerate(c.ranks))
        return replace(c, ranks=ranks)

    def largest(self) -> ViTConfig:
        res = max(self.resolutions)
        patch = min(p for p in self.patches if res % p == 0 and res // p >= 2)
        embed = max(self.embeds)
        heads = max(h for h in self.heads if embed % h == 0)
        return ViTConfig(res, patch, embed, self.max_depth, heads, max(self.mlp_ratios),
                         (max(self.ranks, key=_rank_key),) * self.max_depth)

    def smallest(self) -> ViTConfig:
        res = min(self.resolutions)
        patch = max(p for p in self.patches if res % p == 0 and res // p >= 2)
        embed = min(self.embeds)
        heads = min(h for h in self.heads if embed % h == 0)
        return self.canonical(ViTConfig(res, patch, embed, min(self.depths), heads, min(self.mlp_ratios),
                                        (min(self.ranks, key=_rank_key),) * self.max_depth))

    def sample(self, rng: random.Random) -> ViTConfig:
        while True:
            c = self.canonical(ViTConfig(
                rng.choice(self.resolutions), rng.choice(self.patches), rng.choice(self.embeds),
                rng.choice(self.depths), rng.choice(self.heads), rng.choice(self.mlp_ratios),
                tuple(rng.choice(self.ranks) for _ in range(self.max_depth))))
            if self.is_valid(c):
                return c

    def mutate(self, c: ViTConfig, rng: random.Random, prob: float) -> ViTConfig:
        def pick(cur, choices):
            return rng.choice(choices) if rng.random() < prob else cur

        while True:
            m = self.canonical(ViTConfig(
                pick(c.resolution, self.resolutions), pick(c.patch, self.patches), pick(c.embed, self.embeds),
                pick(c.depth, self.depths), pick(c.heads, self.heads), pick(c.mlp_ratio, self.mlp_ratios),
                tuple(pick(r, self.ranks) for r in c.ranks)))
            if self.is_valid(m):
                return m

    def crossover(self, a: ViTConfig, b: ViTConfig, rng: random.Random) -> ViTConfig:
        return _crossover(self, a, b, rng)


# ---- CNN ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CNNConfig:
    resolution: int
    width: float
    depths: tuple[int, ...]       # blocks per stage
    kernels: tuple[int, ...]      # per block slot, stage-major (stages x max depth)
    expansions: tuple[int, ...]   # per block slot, same layout

    def short(self) -> str:
        return (f"cnn r{self.resolution} w{self.width:g} d{list(self.depths)} "
                f"k{list(self.kernels)} e{list(self.expansions)}")


@dataclass(frozen=True)
class CNNSpace:
    resolutions: tuple[int, ...] = (8, 12, 16)
    widths: tuple[float, ...] = (0.25, 0.5, 0.75, 1.0)
    depths: tuple[int, ...] = (1, 2)
    kernels: tuple[int, ...] = (3, 5)
    expansions: tuple[int, ...] = (2, 3, 4)
    # Fixed skeleton (not searched): base channels of the stem and of each stage at width 1.0,
    # and each stage's stride. Stem stride 1: digits are 8x8 to begin with.
    stem_channels: int = 16
    stage_channels: tuple[int, ...] = (16, 24, 32)
    stage_strides: tuple[int, ...] = (1, 2, 2)
    channels: int = 1
    classes: int = 10

    family: ClassVar[Family] = "cnn"

    @property
    def stages(self) -> int:
        return len(self.stage_channels)

    @property
    def max_depth(self) -> int:
        return max(self.depths)

    @property
    def slots(self) -> int:
        return self.stages * self.max_depth

    def active(self, c: CNNConfig, slot: int) -> bool:
        stage, i = divmod(slot, self.max_depth)
        return i < c.depths[stage]

    def is_valid(self, c: CNNConfig) -> bool:
        return (c.resolution in self.resolutions and c.width in self.widths
                and len(c.depths) == self.stages and all(d in self.depths for d in c.depths)
                and len(c.kernels) == self.slots and all(k in self.kernels for k in c.kernels)
                and len(c.expansions) == self.slots and all(e in self.expansions for e in c.expansions)
                and c == self.canonical(c))

    def canonical(self, c: CNNConfig) -> CNNConfig:
        k = tuple(v if self.active(c, s) else self.kernels[0] for s, v in enumerate(c.kernels))
        e = tuple(v if self.active(c, s) else self.expansions[0] for s, v in enumerate(c.expansions))
        return replace(c, kernels=k, expansions=e)

    def largest(self) -> CNNConfig:
        return CNNConfig(max(self.resolutions), max(self.widths), (self.max_depth,) * self.stages,
                         (max(self.kernels),) * self.slots, (max(self.expansions),) * self.slots)

    def smallest(self) -> CNNConfig:
        return self.canonical(CNNConfig(min(self.resolutions), min(self.widths), (min(self.depths),) * self.stages,
                                        (min(self.kernels),) * self.slots, (min(self.expansions),) * self.slots))

    def sample(self, rng: random.Random) -> CNNConfig:
        return self.canonical(CNNConfig(
            rng.choice(self.resolutions), rng.choice(self.widths),
            tuple(rng.choice(self.depths) for _ in range(self.stages)),
            tuple(rng.choice(self.kernels) for _ in range(self.slots)),
            tuple(rng.choice(self.expansions) for _ in range(self.slots))))

    def mutate(self, c: CNNConfig, rng: random.Random, prob: float) -> CNNConfig:
        def pick(cur, choices):
            return rng.choice(choices) if rng.random() < prob else cur

        return self.canonical(CNNConfig(
            pick(c.resolution, self.resolutions), pick(c.width, self.widths),
            tuple(pick(d, self.depths) for d in c.depths),
            tuple(pick(k, self.kernels) for k in c.kernels),
            tuple(pick(e, self.expansions) for e in c.expansions)))

    def crossover(self, a: CNNConfig, b: CNNConfig, rng: random.Random) -> CNNConfig:
        return _crossover(self, a, b, rng)

    def channels_of(self, c: CNNConfig) -> tuple[int, tuple[int, ...]]:
        """(stem channels, per-stage channels) at the config's width, rounded to multiples of 4."""
        return _scale(self.stem_channels, c.width), tuple(_scale(ch, c.width) for ch in self.stage_channels)


def _scale(ch: int, width: float) -> int:
    # Multiples of 4 keep every slice of the supernet's weights aligned to the same grid.
    return max(4, int(round(ch * width / 4)) * 4)


Space = Union[ViTSpace, CNNSpace]
Config = Union[ViTConfig, CNNConfig]


def _crossover(space: Space, a: Config, b: Config, rng: random.Random) -> Config:
    """Uniform crossover, field by field and slot by slot; retried until valid (ViT heads must
    divide the width). Falls back to a parent after many tries, which is always valid."""
    for _ in range(100):
        kw = {}
        for f in fields(a):
            va, vb = getattr(a, f.name), getattr(b, f.name)
            if isinstance(va, tuple):
                kw[f.name] = tuple(x if rng.random() < 0.5 else y for x, y in zip(va, vb))
            else:
                kw[f.name] = va if rng.random() < 0.5 else vb
        child = space.canonical(type(a)(**kw))
        if space.is_valid(child):
            return child
    return a


def space_for(family: Family) -> Space:
    if family == "vit":
        return ViTSpace()
    if family == "cnn":
        return CNNSpace()
    raise ValueError(f"unknown family {family!r}")


def config_to_dict(c: Config) -> dict:
    d = {f.name: getattr(c, f.name) for f in fields(c)}
    return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


def config_from_dict(family: Family, d: dict) -> Config:
    cls = ViTConfig if family == "vit" else CNNConfig
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})
