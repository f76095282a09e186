"""Neural architecture search under a board's measured memory budget (`mcuforge nas`).

space (configs, pure Python) -> vit / cnn (weight-sharing supernets, PyTorch) -> train
(sandwich rule, DDP under torchrun) -> measure (export + compile every candidate) ->
evolution (search, Pareto front) -> deploy (export the winner, run its C) -> search (run_nas).

Only ``space`` and ``data`` load without torch; import the rest from their modules, or use
the names below, which import lazily.
"""

from __future__ import annotations

from typing import Any

_LAZY = {
    "NasOptions": "toolchain.nas.search", "NasResult": "toolchain.nas.search", "run_nas": "toolchain.nas.search",
    "TrainOptions": "toolchain.nas.train", "EvolutionOptions": "toolchain.nas.evolution",
    "Budget": "toolchain.nas.measure", "board_budget": "toolchain.nas.measure",
    "load_dataset": "toolchain.nas.data",
}

from toolchain.nas.space import CNNConfig, CNNSpace, ViTConfig, ViTSpace  # noqa: E402


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(name)


__all__ = ["CNNConfig", "CNNSpace", "ViTConfig", "ViTSpace", *_LAZY]
