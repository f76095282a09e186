"""A model too big for a board is refused at link time, with one line naming the budget."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fixtures.sim_support import MATMUL4, boards_where, require_tools
from toolchain.boards import load_board
from toolchain.build import build_firmware
from toolchain.sim import BudgetError

pytestmark = pytest.mark.qemu

BARE_METAL = boards_where(lambda b: b.bare_metal)
INPUTS = [np.zeros((4, 4), np.float32), np.zeros(4, np.float32)]


@pytest.mark.parametrize("name", BARE_METAL)
def test_arena_too_big_for_ram(name: str, tmp_path: Path) -> None:
    board = load_board(name)
    require_tools(board)
    extra = board.memory.ram.size  # the arena alone is larger than all of RAM
    with pytest.raises(BudgetError) as err:
        build_firmware([MATMUL4 / "model.c"], board, tmp_path, INPUTS,
                       extra_cflags=[f"-DMF_FIXTURE_EXTRA_ARENA={extra}"])
    message = str(err.value)
    assert message.count("\n") == 0, message
    assert message.startswith(f"model needs {err.value.needed['RAM']} bytes of RAM (arena "
                              f"{160 + extra}, stack ")
    assert message.endswith(f"but {board.name} has {board.memory.ram.size}")
    assert err.value.needed["RAM"] > board.memory.ram.size


@pytest.mark.parametrize("name", BARE_METAL)
def test_weights_too_big_for_flash(name: str, tmp_path: Path) -> None:
    board = load_board(name)
    require_tools(board)
    extra = board.memory.flash.size
    with pytest.raises(BudgetError) as err:
        build_firmware([MATMUL4 / "model.c"], board, tmp_path, INPUTS,
                       extra_cflags=[f"-DMF_FIXTURE_EXTRA_WEIGHTS={extra}"])
    message = str(err.value)
    assert message.count("\n") == 0, message
    assert message.startswith(f"model needs {err.value.needed['FLASH']} bytes of flash")
    assert message.endswith(f"but {board.name} has {board.memory.flash.size}")
    assert err.value.breakdown["FLASH"]["constants and weights"] >= extra
    assert err.value.needed["RAM"] <= board.memory.ram.size  # RAM is fine: not mentioned


@pytest.mark.parametrize("name", BARE_METAL)
def test_just_fitting_model_links(name: str, tmp_path: Path) -> None:
    """The limit is the board's: an arena that leaves room for stack and data links."""
    board = load_board(name)
    require_tools(board)
    room = board.memory.ram.size - board.memory.stack_size * board.max_harts - 4096  # a stack per hart
    build = build_firmware([MATMUL4 / "model.c"], board, tmp_path, INPUTS,
                           extra_cflags=[f"-DMF_FIXTURE_EXTRA_ARENA={room}"])
    assert build.arena_bytes == 160 + room
    assert build.ram_bytes <= board.memory.ram.size
