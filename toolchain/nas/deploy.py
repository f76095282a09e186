"""The chosen sub-network as shipped: ONNX, compiled C, and its accuracy as the C computes it.

``export_subnet`` folds BatchNorm and writes the batch-1 ONNX that was measured during the
search (same exporter, same settings), then compiles it: the arena and flash reported are the
compiler's, for that file. ``compiled_accuracy`` runs the generated C on every test sample and
compares arg-maxes with PyTorch's on the same inputs.

Where the C runs is a parameter (``Runner``): the host build today; a QEMU runner for the
board (``toolchain.sim``) plugs in with the same signature and nothing else changes.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import torch
from torch import nn

from toolchain.api import CompiledModel, compile_model, write_sources
from toolchain.build.host import build_host, run_host
from toolchain.nas.data import Split
from toolchain.nas.measure import Footprint, fold_batchnorm, footprint_of, to_onnx
from toolchain.nas.train import Progress, accuracy, logits_of, no_progress

# A runner takes the compiled model and the samples (N, C, H, W) and returns logits (N, K)
# computed by the generated C wherever it runs (host process, QEMU, a board).
Runner = Callable[[CompiledModel, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Exported:
    onnx: onnx.ModelProto
    compiled: CompiledModel
    model: nn.Module       # the BN-folded PyTorch module the ONNX came from

    @property
    def footprint(self) -> Footprint:
        return footprint_of(self.compiled)


def export_subnet(model: nn.Module, channels: int, resolution: int, out: Path | None = None) -> Exported:
    model = fold_batchnorm(model.cpu().eval())
    proto = to_onnx(model, channels, resolution)
    onnx.checker.check_model(proto, full_check=True)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        onnx.save(proto, str(out))
    return Exported(proto, compile_model(proto), model)


def host_runner(progress: Progress = no_progress, work_dir: Path | None = None) -> Runner:
    """Builds the C once with the host gcc, then runs the binary once per sample (the harness
    reads one input per run, the deployed model's batch of one)."""

    def run(cm: CompiledModel, x: np.ndarray) -> np.ndarray:
        out_size = cm.graph.tensors[cm.graph.outputs[0]].size
        with tempfile.TemporaryDirectory(prefix="mcuforge-nas-") as tmp:
            src = write_sources(cm, Path(work_dir or tmp))
            exe = build_host(src, len(cm.graph.inputs))
            rows = [run_host(exe, [x[i:i + 1]], [out_size])[0]
                    for i in progress(range(len(x)), desc="compiled C", total=len(x))]
        return np.stack(rows) if rows else np.zeros((0, out_size), np.float32)

    return run


@dataclass(frozen=True)
class DeployCheck:
    c_accuracy: float       # arg-max of the compiled C's logits vs labels
    torch_accuracy: float   # arg-max of PyTorch's logits (the exported module) vs labels
    agree: int              # samples where the two arg-maxes are the same
    samples: int
    max_abs_diff: float     # largest |C logit - PyTorch logit|

    @property
    def equal(self) -> bool:
        return self.agree == self.samples


def compiled_accuracy(exported: Exported, split: Split, runner: Runner) -> DeployCheck:
    c_logits = runner(exported.compiled, split.x)
    t_logits = logits_of(exported.model, split.x, torch.device("cpu"))
    agree = int((c_logits.argmax(1) == t_logits.argmax(1)).sum())
    diff = float(np.abs(c_logits - t_logits).max()) if len(split) else 0.0
    return DeployCheck(accuracy(c_logits, split.y), accuracy(t_logits, split.y), agree, len(split), diff)
