"""An op family is one unit: its backward (gradient ops, rule, kernels) sits in its own
ops/<family>.py beside the forward, and train/ only orchestrates."""

from __future__ import annotations

import toolchain.train.autodiff  # noqa: F401  (registers the loss and update ops)
from toolchain.ops import REGISTRY
from toolchain.ops.grad import BACKWARD, TrainOp
from toolchain.ops.kernel_table import KERNELS
from toolchain.train.loss_optim import AdamUpdate, Loss, SgdUpdate


def test_each_backward_rule_lives_in_its_forward_family() -> None:
    misplaced = {t: rule.__module__ for t, rule in BACKWARD.items()
                 if REGISTRY.get(t) is None or rule.__module__ != REGISTRY.get(t).__module__}
    assert misplaced == {}
    # the rules cover what training supported before they moved (train/rules.py's table)
    assert {"Conv", "Gemm", "MatMul", "LayerNormalization", "Add", "Sub", "Mul", "Div", "Softmax", "LogSoftmax",
            "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "Reshape", "Flatten", "Squeeze",
            "Unsqueeze", "Identity", "Dropout", "ReduceSum", "ReduceMean", "Transpose", "Gather", "Slice",
            "Concat", "Pad", "Relu", "Sigmoid", "Tanh", "Gelu", "Mish"} <= set(BACKWARD)


def test_train_defines_only_the_loss_and_optimizer_ops() -> None:
    in_train = {cls for cls in REGISTRY.ops.values() if cls.__module__.startswith("toolchain.train")}
    assert in_train == {Loss, SgdUpdate, AdamUpdate}
    assert all(issubclass(c, TrainOp) for c in in_train)


def test_backward_kernels_are_registered_by_their_family() -> None:
    # every _bwd_ kernel exists for f32 and f16 at least as the reference
    bwd = {e.base for e in KERNELS.values() if "_bwd_" in e.base and "_par" not in e.base}
    assert {f"{b}_{dt}_ref" for b in bwd for dt in ("f32", "f16")} <= set(KERNELS)
    assert bwd == {"mf_act_bwd_input", "mf_conv2d_bwd_input", "mf_conv2d_bwd_weight", "mf_gemm_bwd_input",
                   "mf_gemm_bwd_weight", "mf_maxpool2d_bwd_input", "mf_avgpool2d_bwd_input", "mf_layernorm_bwd_input",
                   "mf_layernorm_bwd_weight", "mf_softmax_bwd_input"}
