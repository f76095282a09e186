"""The PyTorch oracle lives with the op families: each family that trains restates its forward
in torch (Op.torch_ref, beside its numpy reference), and train/torch_ref.py only runs the graph.
The gradients those forwards give are checked against ours in tests/test_train_ops.py."""

from __future__ import annotations

import inspect

import pytest

from toolchain.errors import McuforgeError
from toolchain.ir.graph import Node
from toolchain.ops import REGISTRY
from toolchain.ops.base import Op
from toolchain.train import torch_ref

TRAINED = ["Conv", "Gemm", "MatMul", "MaxPool", "AveragePool", "GlobalAveragePool", "Softmax", "LogSoftmax",
           "LayerNormalization", "Relu", "Sigmoid", "Gelu", "Clip", "Add", "Mul", "Div", "ReduceMean",
           "Transpose", "Concat", "Slice", "Gather", "Pad", "Expand", "Tile", "Split"]


@pytest.mark.parametrize("op_type", TRAINED)
def test_every_trained_family_has_its_torch_forward(op_type: str) -> None:
    op = REGISTRY.get(op_type)
    assert op is not None and op.torch_ref.__func__ is not Op.torch_ref.__func__, op_type


def test_the_oracle_knows_no_op_itself() -> None:
    src = inspect.getsource(torch_ref)
    for family_call in ("conv2d", "max_pool2d", "layer_norm", "index_select", "softmax("):
        assert family_call not in src


def test_an_op_without_a_torch_forward_is_one_error_naming_the_node() -> None:
    pytest.importorskip("torch")
    n = Node("q0", "QuantizeLinear", ["x"], ["y"], None)
    with pytest.raises(McuforgeError, match="no QuantizeLinear .*'q0'"):
        torch_ref.run_node(n, [None])
