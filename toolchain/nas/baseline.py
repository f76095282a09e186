"""Hand-designed references to hold the search against, each widened until the next width
would not fit the RAM/flash budget (measured by the compiler, like every candidate).

- CNN: conv3x3(w) -> conv3x3(2w) -> max-pool 2 -> conv3x3(2w) -> global average -> linear,
  BatchNorm and ReLU after each conv: what one writes by hand for 8x8 digits. It is a point of
  the CNN search space (``space.hand_cnn``); tests check that the space's sub-network and this
  module export the same graph.
- ViT: the textbook recipe scaled by its width only: patch 2 at the data's resolution, depth 2,
  2 heads, MLP ratio 2, dense linears; the embedding is the widest that fits.

``train_baseline`` trains the reference from scratch with the schedule the chosen sub-network's
final training uses too (``search.hand_schedule``); each model is also a candidate of the
re-ranking that picks the searched model (``rerank``).
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from toolchain.api import compile_model
from toolchain.errors import DoesNotFitError
from toolchain.nas.measure import Budget, Footprint, fold_batchnorm, footprint_of, to_onnx
from toolchain.nas.space import CNNSpace, Config, Family, ViTConfig, ViTSpace, hand_cnn

WIDTHS = (4, 8, 12, 16, 24, 32, 48, 64)
VIT_EMBEDS = (8, 16, 24, 32, 48, 64, 96, 128)


class PlainCNN(nn.Module):
    def __init__(self, width: int, channels: int = 1, classes: int = 10) -> None:
        super().__init__()

        def block(cin: int, cout: int) -> list[nn.Module]:
            return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]

        self.features = nn.Sequential(*block(channels, width), *block(width, 2 * width), nn.MaxPool2d(2),
                                      *block(2 * width, 2 * width))
        self.head = nn.Linear(2 * width, classes)

    def forward(self, x):
        return self.head(self.features(x).mean(dim=(2, 3)))


def hand_vit_config(embed: int, resolution: int, space: ViTSpace | None = None) -> ViTConfig:
    """The hand-scaled ViT; as a point of ``space`` (rank slots up to its depth) when given."""
    if space is None:
        return ViTConfig(resolution, 2, embed, 2, 2, 2.0, ("dense", "dense"))
    return space.canonical(ViTConfig(resolution, 2, embed, 2, 2, 2.0, ("dense",) * space.max_depth))


def hand_vit(embed: int, channels: int, classes: int, resolution: int) -> nn.Module:
    """A freshly initialised hand-scaled ViT (the static module the search exports too)."""
    from toolchain.nas.vit import ViTSupernet

    c = hand_vit_config(embed, resolution)
    space = ViTSpace(resolutions=(resolution,), patches=(2,), embeds=(embed,), depths=(2,), heads=(2,),
                     mlp_ratios=(2.0,), ranks=("dense",), channels=channels, classes=classes)
    return ViTSupernet(space).extract(c).train()


@dataclass(frozen=True)
class Baseline:
    label: str
    model: nn.Module      # untrained
    resolution: int
    footprint: Footprint  # compiled; flash code bytes as the caller measured them
    config: Config        # the same architecture as a point of the family's space


def fit_baseline(budget: Budget, channels: int, classes: int, resolution: int, family: Family = "cnn",
                 code_bytes: int = 0, space: CNNSpace | ViTSpace | None = None) -> Baseline:
    """The widest hand-designed model of ``family`` that fits; ``config`` as a point of
    ``space`` (default: the family's default space)."""
    best: Baseline | None = None
    for w in (WIDTHS if family == "cnn" else VIT_EMBEDS):
        if family == "cnn":
            model, label = PlainCNN(w, channels, classes), f"hand cnn r{resolution} width {w}"
            cs = space if isinstance(space, CNNSpace) else CNNSpace()
            config: Config = hand_cnn(cs, w / cs.stem_channels, resolution)
        else:
            model, label = hand_vit(w, channels, classes, resolution), hand_vit_config(w, resolution).short()
            config = hand_vit_config(w, resolution, space if isinstance(space, ViTSpace) else ViTSpace())
        f = footprint_of(compile_model(to_onnx(fold_batchnorm(_copy(model)), channels, resolution)), code_bytes)
        if not budget.fits(f):
            break
        best = Baseline(label, model, resolution, f, config)
    if best is None:
        raise DoesNotFitError(f"no hand-designed {family} fits {budget.describe()}")
    return best


def _copy(model: nn.Module) -> nn.Module:
    import copy

    return copy.deepcopy(model)


__all__ = ("PlainCNN", "Baseline", "fit_baseline", "hand_vit", "hand_vit_config")
