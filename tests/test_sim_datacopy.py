"""The start-up copies .data from its load address in flash to RAM.

QEMU 7.2 loads each ELF segment at its physical (load) address, so RAM does not hold .data's
initial values unless the start-up copies them; the negative control (start-up built without
the copy) shows that this test would catch a missing copy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fixtures.sim_support import DATACOPY, require_tools, simulated_boards
from toolchain.boards import load_board
from toolchain.build import build_firmware
from toolchain.sim import run_qemu
from toolchain.sim.elfinfo import has_lma_copy, read_elf

pytestmark = pytest.mark.qemu

OFFSETS = np.array([1.5, -2.25, 1000.0, 0.125], dtype=np.float32)
X = np.array([1.0, 2.0, 3.0, 4.0], dtype=np.float32)


@pytest.mark.parametrize("name", simulated_boards())
@pytest.mark.parametrize("load", ["elf", "flash-image"])
def test_data_is_copied_from_flash(name: str, load: str, tmp_path: Path) -> None:
    board = load_board(name)
    require_tools(board)
    build = build_firmware([DATACOPY / "model.c"], board, tmp_path, [X])
    info = read_elf(build.elf)
    data = next(s for s in info.sections if s.name == ".data")
    assert has_lma_copy(info), "linker script must store .data in flash (LMA != VMA)"
    assert board.memory.flash.contains(data.lma) and board.memory.ram.contains(data.vma)
    result = run_qemu(build, board, timeout=60, load=load)  # type: ignore[arg-type]
    assert result.status == 0
    np.testing.assert_array_equal(result.outputs[0], X + OFFSETS)


@pytest.mark.parametrize("name", simulated_boards())
def test_without_the_copy_the_test_fails(name: str, tmp_path: Path) -> None:
    board = load_board(name)
    require_tools(board)
    build = build_firmware([DATACOPY / "model.c"], board, tmp_path, [X],
                           extra_cflags=["-DMF_CRT_TEST_SKIP_DATA_COPY"])
    result = run_qemu(build, board, timeout=60)
    assert not np.array_equal(result.outputs[0], X + OFFSETS)
