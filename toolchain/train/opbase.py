"""The base of every op the training compiler builds (gradients, losses, updates)."""

from __future__ import annotations

from toolchain.ops.base import Op


class TrainOp(Op):
    """Built by autodiff, never read from an ONNX file: internal to the registry."""

    internal = True
