"""Mixed-precision training (--dtype fp16): FP16 activations and gradients, FP32 master
weights, dynamic loss scaling. The loss trajectory stays within LOSS_RTOL_FP16 of PyTorch
FP32 from the same start at every step, and falls; host (FP16 storage, FP32 arithmetic in
the reference kernels) and QEMU on stm32f746-disco (FP16 storage) and rv32-rvv (native Zfh,
RVV e16 forward and backward kernels). Synthetic seeded data, 4 samples cycled."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import REAL_MODELS
from toolchain.ir.graph import DType
from toolchain.ops.base import KernelTarget
from toolchain.train.api import LOSS_RTOL_FP16, load_data, prepare, train
from toolchain.train.spec import OptimizerSpec

CASES = {
    "dscnn_last2": (REAL_MODELS["dscnn"], "last:2", dict(optimizer="sgd", lr=0.02, momentum=0.9)),
    "vit_head_last_block": (REAL_MODELS["vit_opset18"], "last:10", dict(optimizer="sgd", lr=0.05)),
}


def _data(path, trainable):
    prog = prepare(path, trainable, "cross_entropy", OptimizerSpec())
    return load_data(None, prog.graph.tensors[prog.tg.inputs[0]].shape, prog.tg.loss_params, 3, samples=4)


def _check(r) -> None:
    assert r.match, (r.max_loss_error, r.loss, r.reference_loss)
    ref = np.asarray(r.reference_loss)
    assert np.all(np.abs(np.asarray(r.loss) - ref) <= LOSS_RTOL_FP16 * np.maximum(1.0, np.abs(ref)))
    assert np.mean(r.loss[-4:]) < 0.5 * np.mean(r.loss[:4]), r.loss


def test_mixed_graph_keeps_masters_and_state_fp32() -> None:
    prog = prepare(REAL_MODELS["dscnn"], "last:2", "cross_entropy", OptimizerSpec("sgd", 0.1, 0.9),
                   target=KernelTarget("f16"))
    g = prog.graph
    for w in prog.tg.weights:
        assert g.tensors[w.name].dtype == DType.FLOAT32 and g.tensors[w.half].dtype == DType.FLOAT16
        assert all(g.tensors[s].dtype == DType.FLOAT32 for s in w.states)
        readers = [n for n in g.nodes if w.name in n.inputs]
        assert [n.op_type for n in readers] == ["SgdUpdate"]  # only the update reads the master
    assert g.tensors[prog.tg.loss].dtype == DType.FLOAT32
    assert all(t.dtype == DType.FLOAT16 for t in g.constants() if t.dtype.is_float)
    assert {"mf_sgd_update_f16_ref", "mf_softmax_xent_f16_ref"} <= prog.kernel_names()
    fp32 = prepare(REAL_MODELS["dscnn"], "last:2", "cross_entropy", OptimizerSpec("sgd", 0.1, 0.9))
    assert prog.peak_ram_bytes < fp32.peak_ram_bytes


@pytest.mark.parametrize("case", sorted(CASES))
def test_fp16_finetune_on_host(case: str) -> None:
    path, trainable, opt = CASES[case]
    _check(train(path, trainable, "cross_entropy", steps=20, data=_data(path, trainable), dtype="fp16", **opt))


def test_fp16_adam_on_host() -> None:
    path = REAL_MODELS["vit_opset18"]
    _check(train(path, "last:10", "cross_entropy", steps=20, data=_data(path, "last:10"), dtype="fp16",
                 optimizer="adam", lr=1e-3))


@pytest.mark.qemu
@pytest.mark.slow
@pytest.mark.parametrize("board", ["stm32f746-disco", "rv32-rvv"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_fp16_finetune_in_qemu(case: str, board: str) -> None:
    from fixtures.sim_support import require_tools
    from toolchain.boards import load_board

    require_tools(load_board(board))
    path, trainable, opt = CASES[case]
    r = train(path, trainable, "cross_entropy", steps=20, data=_data(path, trainable), board=board, dtype="fp16",
              **opt)
    _check(r)
    assert r.instructions_per_step and r.instructions_per_step > 0
