"""Fine-tuning real models on the host: the C training step's loss trajectory follows PyTorch's
within 1e-4 per step and falls; the tuned weights export to an ONNX model that verify accepts.

Data are synthetic and seeded (x ~ N(0, 1), random labels): 4 samples cycled over 20 steps,
so "the loss falls" means the step fits them, not that it learns keywords.
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest

from tests.conftest import REAL_MODELS
from toolchain.errors import DoesNotFitError
from toolchain.train.api import load_data, prepare, train
from toolchain.train.spec import OptimizerSpec, TrainSpecError

# ViT "head and last block": the head Gemm, the final LayerNorm, and block 1's two LayerNorms
# and six linears (q, k, v, proj, fc1, fc2) are the last 10 layers with weights.
CASES = {
    "dscnn_last2_sgd_momentum": (REAL_MODELS["dscnn"], "last:2", dict(optimizer="sgd", lr=0.02, momentum=0.9)),
    "vit_head_last_block_adam": (REAL_MODELS["vit_opset18"], "last:10", dict(optimizer="adam", lr=1e-3)),
    "vit_head_last_block_sgd": (REAL_MODELS["vit_opset18"], "last:10", dict(optimizer="sgd", lr=0.05)),
}


def _data(path, trainable, n=4, seed=3):
    prog = prepare(path, trainable, "cross_entropy", OptimizerSpec())
    return load_data(None, prog.graph.tensors[prog.tg.inputs[0]].shape, prog.tg.loss_params, seed, samples=n)


@pytest.mark.parametrize("case", sorted(CASES))
def test_finetune_matches_pytorch_and_loss_falls(case: str, tmp_path) -> None:
    path, trainable, opt = CASES[case]
    data = _data(path, trainable)
    tuned = tmp_path / "tuned.onnx"
    r = train(path, trainable, "cross_entropy", steps=20, data=data, export=tuned, **opt)
    assert r.match, f"max |loss - pytorch| = {r.max_loss_error}"
    assert r.max_loss_error <= 1e-4
    assert len(r.loss) == 20 and r.instructions_per_step is None
    assert np.mean(r.loss[-4:]) < 0.5 * np.mean(r.loss[:4]), r.loss
    assert r.peak_ram_bytes == r.report["peak_ram_bytes"] > r.report["trainable_bytes"]
    # the exported model computes with the tuned weights: onnxruntime on it == our weights' forward
    from toolchain.verify import verify

    assert verify(tuned).match
    x = data[0][0]  # one sample, the model's own input shape (batch 1)
    before = _ort(path, x)
    after = _ort(tuned, x)
    assert np.abs(after - before).max() > 1e-3  # the weights did change
    ref = train(path, trainable, "cross_entropy", steps=20, data=data, **opt)  # deterministic
    assert ref.loss == r.loss


def _ort(path, x):
    s = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return s.run(None, {s.get_inputs()[0].name: x.astype(np.float32)})[0]


def test_exported_weights_are_the_trained_ones(tmp_path) -> None:
    path = REAL_MODELS["vit_opset18"]
    data = _data(path, "last:3")
    tuned = tmp_path / "t.onnx"
    r = train(path, "last:3", steps=5, data=data, export=tuned, optimizer="sgd", lr=0.1)
    import onnx
    from onnx import numpy_helper

    inits = {t.name: numpy_helper.to_array(t) for t in onnx.load(str(tuned)).graph.initializer}
    for name, w in r.weights.items():
        hits = [k for k, v in inits.items() if v.size == w.size and np.array_equal(v.reshape(-1), w.reshape(-1))]
        assert hits, f"{name} not found in the exported model"


def test_does_not_fit_names_budget_and_peak() -> None:
    with pytest.raises(DoesNotFitError, match=r"needs \d+ bytes of RAM at its peak; the budget is 50000 bytes"):
        prepare(REAL_MODELS["dscnn"], "last:2", "cross_entropy", OptimizerSpec(), ram_budget=50_000)


def test_biases_only_and_named_layers() -> None:
    prog = prepare(REAL_MODELS["vit_opset18"], "biases", "cross_entropy", OptimizerSpec())
    assert all(w.init.ndim == 1 for w in prog.tg.weights)
    prog = prepare(REAL_MODELS["vit_opset18"], "node_linear_12", "cross_entropy", OptimizerSpec("adam", 1e-3))
    assert sorted(w.source for w in prog.tg.weights) == ["head.bias", "head.weight"]
    assert prog.optimizer_state_bytes == 2 * prog.trainable_bytes
    with pytest.raises(TrainSpecError, match="no layer or weight named"):
        prepare(REAL_MODELS["vit_opset18"], "nope", "cross_entropy", OptimizerSpec())
    with pytest.raises(TrainSpecError, match="last:N"):
        prepare(REAL_MODELS["vit_opset18"], "last:x", "cross_entropy", OptimizerSpec())


def test_shared_layernorm_weight_is_unshared_for_the_trained_layer() -> None:
    # the exporter deduplicated equal LayerNorm weights: training block 1 must not change block 0
    prog = prepare(REAL_MODELS["vit_opset18"], "last:10", "cross_entropy", OptimizerSpec())
    ln = [w for w in prog.tg.weights if w.source.startswith("blocks.0.norm1")]
    assert ln and all(w.name != w.source for w in ln)
    frozen = [n for n in prog.graph.nodes if n.op_type == "LayerNormalization" and
              any(i.startswith("blocks.0.norm1") and "@" not in i for i in n.inputs)]
    assert frozen  # block 0's norms still read the flash constant
