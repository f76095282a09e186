"""A hand-designed baseline to hold the search against: a plain small CNN, widened until the
next width would not fit the RAM budget (measured by the compiler, like every candidate).

conv3x3(c) -> conv3x3(2c) -> maxpool 2 -> conv3x3(2c) -> global average -> linear, with
BatchNorm and ReLU after each conv: what one writes by hand for 8x8 digits.
"""

from __future__ import annotations

from torch import nn

from toolchain.api import compile_model
from toolchain.errors import DoesNotFitError
from toolchain.nas.measure import Budget, Footprint, fold_batchnorm, footprint_of, to_onnx

WIDTHS = (4, 8, 12, 16, 24, 32, 48, 64)


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


def fit_baseline(budget: Budget, channels: int, classes: int, resolution: int) -> tuple[int, Footprint]:
    """The widest PlainCNN that fits, and its compiled footprint."""
    best: tuple[int, Footprint] | None = None
    for w in WIDTHS:
        model = fold_batchnorm(PlainCNN(w, channels, classes))
        f = footprint_of(compile_model(to_onnx(model, channels, resolution)))
        if not budget.fits(f):
            break
        best = (w, f)
    if best is None:
        raise DoesNotFitError(f"no plain CNN of width >= {WIDTHS[0]} fits {budget.describe()}")
    return best
