"""The flash report split into code, weights and scales (sim/flashsplit.py), read from the
linked ELF: weights are exactly the model's weight arrays, scales exactly the int8
requantisation tables the lowered calls carry, and the parts add up to the flash used."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import MODELS, REAL_MODELS
from toolchain.api import CompileOptions
from toolchain.ops.base import Array, IntArray, Struct


def _scale_table_bytes(calls) -> int:  # noqa: ANN001
    """4 bytes per entry of every distinct mult/shift table in the calls' descriptors (codegen
    emits one table per distinct contents)."""
    tables: set[tuple[int, ...]] = set()

    def walk(a: object, field: str = "") -> None:
        if isinstance(a, Struct):
            for k, v in a.fields:
                walk(v, k)
        elif isinstance(a, Array):
            for v in a.items:
                walk(v)
        elif isinstance(a, IntArray) and field in ("mult", "shift"):
            tables.add(tuple(a.values))
    for cs in calls:
        for c in cs:
            for x in c.args:
                walk(x)
    return sum(4 * max(len(t), 1) for t in tables)


@pytest.mark.parametrize("model", [MODELS / "resnet8_int8.onnx", REAL_MODELS["vit_opset18"]],
                         ids=["resnet8_int8", "vit_tiny"])
def test_flash_split_from_the_elf(model: Path, tmp_path: Path) -> None:
    from fixtures.sim_support import require_tools
    from toolchain.boards import load_board
    from toolchain.run import build_for_board

    if not model.is_file():
        pytest.skip(f"{model} not present")
    board = load_board("stm32f746-disco")
    require_tools(board)
    bb = build_for_board(model, board, tmp_path, None, CompileOptions(), 0)
    split = bb.build.flash_split
    assert sum(split.values()) == bb.build.flash_bytes
    assert split["weights"] == bb.compiled.weight_bytes
    assert split["scales"] == _scale_table_bytes(bb.compiled.calls)
    assert split["code"] > 0 and split["other constants"] >= 0
    if "int8" in model.name:
        assert split["scales"] > 0
    else:
        assert split["scales"] == 0
    assert bb.as_dict()["flash_split"] == split
