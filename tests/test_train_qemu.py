"""The training step cross-compiled and run in QEMU: 20 fine-tuning steps per board, the FP32
loss trajectory within 1e-4 of PyTorch per step, the loss falling. Synthetic seeded data
(4 samples cycled), as in test_train_models.py."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from tests.conftest import REAL_MODELS
from toolchain.train.api import load_data, prepare, train
from toolchain.train.spec import OptimizerSpec

BOARDS = ("stm32f746-disco", "rv32-rvv")
# ViT with Adam needs 505 KB at its peak: more than the STM32F746's 320 KB, so plain SGD here.
CASES = {
    "dscnn_last2": (REAL_MODELS["dscnn"], "last:2", dict(optimizer="sgd", lr=0.02, momentum=0.9)),
    "vit_head_last_block": (REAL_MODELS["vit_opset18"], "last:10", dict(optimizer="sgd", lr=0.05)),
}


@pytest.mark.qemu
@pytest.mark.slow
@pytest.mark.parametrize("board", BOARDS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_finetune_in_qemu(case: str, board: str) -> None:
    if shutil.which("qemu-system-arm") is None or shutil.which("qemu-system-riscv32") is None:
        pytest.skip("QEMU is not installed")
    path, trainable, opt = CASES[case]
    prog = prepare(path, trainable, "cross_entropy", OptimizerSpec())
    data = load_data(None, prog.graph.tensors[prog.tg.inputs[0]].shape, prog.tg.loss_params, 3, samples=4)
    r = train(path, trainable, "cross_entropy", steps=20, data=data, board=board, **opt)
    assert r.match and r.max_loss_error <= 1e-4, (r.loss, r.reference_loss)
    assert np.mean(r.loss[-4:]) < 0.5 * np.mean(r.loss[:4]), r.loss
    assert r.instructions_per_step and r.instructions_per_step > 0
