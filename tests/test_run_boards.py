"""Issue 3's must-show: real models on every simulated board in QEMU, matching onnxruntime,
with instruction counts that are identical run to run; oversized models refused at build."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from conftest import REAL_MODELS
from toolchain.boards import list_boards, load_board
from toolchain.errors import DoesNotFitError
from toolchain.run import build_for_board, run_on_board

SIMULATED = [b for b in list_boards() if load_board(b).qemu is not None]
pytestmark = pytest.mark.qemu


@pytest.mark.slow
@pytest.mark.parametrize("board", SIMULATED)
@pytest.mark.parametrize("model", ["resnet8", "dscnn", "vit_opset18"])
def test_model_on_board_matches_and_counts_are_stable(model: str, board: str, tmp_path) -> None:
    b = load_board(board)
    try:
        first = run_on_board(REAL_MODELS[model], board, tmp_path / "a")
    except DoesNotFitError as e:  # a property of the pair (ResNet-8 on 128 KB), said clearly
        pytest.skip(str(e))
    assert first.match and first.max_abs_error <= 1e-4, first.as_dict()
    assert first.instructions and first.instructions > first.macs // 4
    second = run_on_board(REAL_MODELS[model], board, tmp_path / "b")
    assert second.instructions == first.instructions
    assert second.weighted_instructions == first.weighted_instructions
    assert first.flash_bytes <= b.memory.flash.size and first.ram_bytes <= b.memory.ram.size
    print(f"{model}@{board}: {first.instructions:,} instructions, {first.macs_per_instruction:.4f} MACs/instr")


def _big_model(weights: int, activations: int) -> onnx.ModelProto:
    """x[1, n] -> MatMul with an n x n weight -> Relu: weight bytes and arena bytes chosen apart."""
    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.standard_normal((activations, weights // activations)).astype(np.float32), "w")
    nodes = [helper.make_node("MatMul", ["x", "w"], ["m"]), helper.make_node("Relu", ["m"], ["y"])]
    g = helper.make_graph(nodes, "big", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, activations])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, weights // activations])], [w])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


@pytest.mark.parametrize("board", SIMULATED)
def test_oversized_model_is_refused_with_the_budget(board: str, tmp_path) -> None:
    b = load_board(board)
    too_much_flash = _big_model(b.memory.flash.size // 4 + 4096 * 16, 4096)
    p = tmp_path / "flash.onnx"
    onnx.save(too_much_flash, p)
    with pytest.raises(DoesNotFitError) as e:
        build_for_board(p, board, tmp_path / "f")
    msg = str(e.value)
    assert "flash" in msg and board in msg and f"{b.memory.flash.size}" in msg and "\n" not in msg.strip()

    too_much_ram = _big_model(64 * 1024, b.memory.ram.size // 4)
    p = tmp_path / "ram.onnx"
    onnx.save(too_much_ram, p)
    with pytest.raises(DoesNotFitError) as e:
        build_for_board(p, board, tmp_path / "r")
    msg = str(e.value)
    assert "RAM" in msg and board in msg and f"{b.memory.ram.size}" in msg and "arena" in msg


def test_run_cli_json_keys(tmp_path) -> None:
    r = subprocess.run([sys.executable, "-m", "toolchain.cli", "run", str(REAL_MODELS["dscnn"]), "--board",
                        "stm32f746-disco", "--sim", "--json"], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    for k in ("board", "match", "max_abs_error", "instructions", "macs", "arena_bytes", "flash_bytes", "stack_bytes"):
        assert k in d
    assert d["match"] is True and d["instructions"] > 0 and d["stack_bytes"] > 0
