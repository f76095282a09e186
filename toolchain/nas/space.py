"""Search spaces: the choices (a Space) and one point in them (a Config), as frozen dataclasses.

Pure Python (no torch) so the evolutionary operators and their tests run without the `[nas]`
extra. Every Config is *canonical*: slots beyond the active depth hold a fixed filler value,
so two configs that describe the same sub-network compare (and hash, and cache) equal.

- ViT (MCUFormer): input resolution, patch size, embedding width, depth, heads, MLP ratio and a
  low-rank rank per block (``"dense"`` allowed). A rank applies to the six linears of a block
  (q, k, v, proj, fc1, fc2); where a factored linear would not be smaller than the dense one
  the export uses the dense matrix (see ``use_dense``).
- CNN (MCUNet-like): input resolution, width multiplier, depth per stage, and per block slot
  the block type (plain conv or inverted residual), its kernel size and expansion ratio. The
  hand-designed CNN is a point of this space (``hand_cnn``; tests check it).
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
    embeds: tuple[int, ...] = (16, 24, 32, 48, 64, 96)
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

Op = Literal["conv", "mb"]


@dataclass(frozen=True)
class CNNConfig:
    resolution: int
    width: float
    depths: tuple[int, ...]       # blocks per stage (0: the stage, and its pooling, are skipped)
    ops: tuple[Op, ...]           # per block slot, stage-major (stages x max depth)
    kernels: tuple[int, ...]      # per block slot, same layout
    expansions: tuple[int, ...]   # per block slot, same layout (only "mb" blocks use it)

    def short(self) -> str:
        blocks = [f"{o}{k}" + (f"e{e}" if o == "mb" else "")
                  for o, k, e in zip(self.ops, self.kernels, self.expansions)]
        per = len(self.ops) // len(self.depths)
        stages = ["[" + ",".join(blocks[s * per:s * per + d]) + "]" for s, d in enumerate(self.depths)]
        return f"cnn r{self.resolution} w{self.width:g} " + " ".join(stages)


@dataclass(frozen=True)
class CNNSpace:
    """MCUNet-like stages whose blocks are either a plain k x k conv ("conv": conv, BN, ReLU)
    or an inverted residual ("mb": 1x1 expand, depthwise k x k, 1x1 project, residual when the
    shapes agree). A stage whose stride is 2 starts with a 2x2 max-pool.

    The plain "conv" block is there so the space contains the hand-designed CNN that wins on
    small images (``hand_cnn``): stem conv3x3(w), conv3x3(2w), max-pool, conv3x3(2w)."""
    resolutions: tuple[int, ...] = (8, 12, 16)
    widths: tuple[float, ...] = (0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0)
    depths: tuple[int, ...] = (0, 1, 2)
    ops: tuple[Op, ...] = ("conv", "mb")
    kernels: tuple[int, ...] = (3, 5)
    expansions: tuple[int, ...] = (2, 3, 4)
    # Fixed skeleton (not searched): base channels of the stem and of each stage at width 1.0,
    # and each stage's stride (a max-pool at its start). Stem stride 1: digits are 8x8.
    stem_channels: int = 16
    stage_channels: tuple[int, ...] = (32, 32, 64)
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
                and len(c.ops) == self.slots and all(o in self.ops for o in c.ops)
                and len(c.kernels) == self.slots and all(k in self.kernels for k in c.kernels)
                and len(c.expansions) == self.slots and all(e in self.expansions for e in c.expansions)
                and c.resolution % self.downsampling(c) == 0 and c == self.canonical(c))

    def downsampling(self, c: CNNConfig) -> int:
        f = 1
        for d, s in zip(c.depths, self.stage_strides):
            f *= s if d else 1
        return f

    def canonical(self, c: CNNConfig) -> CNNConfig:
        act = [self.active(c, s) for s in range(self.slots)]
        ops = tuple(v if a else self.ops[0] for a, v in zip(act, c.ops))
        k = tuple(v if a else self.kernels[0] for a, v in zip(act, c.kernels))
        e = tuple(v if a and o == "mb" else self.expansions[0] for a, o, v in zip(act, ops, c.expansions))
        return replace(c, ops=ops, kernels=k, expansions=e)

    def largest(self) -> CNNConfig:
        """The sub-network that holds every weight: the teacher of in-place distillation."""
        return CNNConfig(max(self.resolutions), max(self.widths), (self.max_depth,) * self.stages,
                         ("mb",) * self.slots if "mb" in self.ops else (self.ops[0],) * self.slots,
                         (max(self.kernels),) * self.slots, (max(self.expansions),) * self.slots)

    def smallest(self) -> CNNConfig:
        d = min(x for x in self.depths if x > 0) if any(x > 0 for x in self.depths) else 0
        return self.canonical(CNNConfig(min(self.resolutions), min(self.widths), (d,) * self.stages,
                                        (self.ops[0],) * self.slots,
                                        (min(self.kernels),) * self.slots, (min(self.expansions),) * self.slots))

    def sample(self, rng: random.Random) -> CNNConfig:
        while True:
            c = self.canonical(CNNConfig(
                rng.choice(self.resolutions), rng.choice(self.widths),
                tuple(rng.choice(self.depths) for _ in range(self.stages)),
                tuple(rng.choice(self.ops) for _ in range(self.slots)),
                tuple(rng.choice(self.kernels) for _ in range(self.slots)),
                tuple(rng.choice(self.expansions) for _ in range(self.slots))))
            if self.is_valid(c):
                return c

    def mutate(self, c: CNNConfig, rng: random.Random, prob: float) -> CNNConfig:
        def pick(cur, choices):
            return rng.choice(choices) if rng.random() < prob else cur

        for _ in range(100):
            m = self.canonical(CNNConfig(
                pick(c.resolution, self.resolutions), pick(c.width, self.widths),
                tuple(pick(d, self.depths) for d in c.depths),
                tuple(pick(o, self.ops) for o in c.ops),
                tuple(pick(k, self.kernels) for k in c.kernels),
                tuple(pick(e, self.expansions) for e in c.expansions)))
            if self.is_valid(m):
                return m
        return c

    def crossover(self, a: CNNConfig, b: CNNConfig, rng: random.Random) -> CNNConfig:
        return _crossover(self, a, b, rng)

    def channels_of(self, c: CNNConfig) -> tuple[int, tuple[int, ...]]:
        """(stem channels, per-stage channels) at the config's width, rounded to multiples of 4."""
        return _scale(self.stem_channels, c.width), tuple(_scale(ch, c.width) for ch in self.stage_channels)


def hand_cnn(space: CNNSpace, width: float, resolution: int) -> CNNConfig:
    """The hand-designed CNN of ``toolchain.nas.baseline`` as a point of ``space``: stem
    conv3x3, one conv3x3 in stage 1, one after the max-pool of stage 2, no stage 3."""
    depths = (1, 1) + (0,) * (space.stages - 2)
    return space.canonical(CNNConfig(resolution, width, depths, ("conv",) * space.slots,
                                     (3,) * space.slots, (space.expansions[0],) * space.slots))


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


def shrink_phases(space: Space) -> list[Space]:
    """Progressive shrinking (Once-for-All): the sub-spaces trained one after the other, each
    containing the one before. Phase 0 is the largest sub-network alone (it becomes the
    teacher of in-place distillation); then the dimensions open in OFA's order, the ones that
    perturb the shared weights least first: kernel sizes (ViT: low-rank ranks), then depth
    (ViT: depth, heads, MLP ratio), then everything (widths, expansions, resolutions, patches)."""
    big = space.largest()
    if isinstance(space, CNNSpace):
        only = dict(resolutions=(big.resolution,), widths=(big.width,), depths=(space.max_depth,),
                    ops=(big.ops[0],), kernels=(max(space.kernels),), expansions=(max(space.expansions),))
        opened = [(), ("kernels",), ("kernels", "depths", "ops")]
    else:
        only = dict(resolutions=(big.resolution,), patches=(big.patch,), embeds=(big.embed,),
                    depths=(big.depth,), heads=(big.heads,), mlp_ratios=(big.mlp_ratio,), ranks=(big.ranks[0],))
        opened = [(), ("ranks",), ("ranks", "depths", "heads", "mlp_ratios")]
    phases = [replace(space, **{k: v for k, v in only.items() if k not in o}) for o in opened]
    return [*phases, space]
