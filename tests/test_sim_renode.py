"""Renode: .resc scripts for boards whose real part Renode models, run when renode exists."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from fixtures.sim_support import (
    MATMUL4, assert_outputs_close, boards_where, matmul4_inputs, matmul4_reference,
    require_tools,
)
from toolchain.boards import load_board
from toolchain.build import build_firmware
from toolchain.sim import RenodeNotInstalled, SimError, run_renode
from toolchain.sim.elfinfo import read_elf
from toolchain.sim.renode import renode_script

RENODE_BOARDS = boards_where(lambda b: b.renode is not None)


@pytest.mark.host
@pytest.mark.parametrize("name", RENODE_BOARDS)
def test_silicon_build_and_script(name: str, tmp_path: Path) -> None:
    board = load_board(name)
    require_tools(board)
    build = build_firmware([MATMUL4 / "model.c"], board, tmp_path, matmul4_inputs(),
                           target="silicon")
    silicon_flash = board.silicon.flash_origin if board.silicon else board.memory.flash.origin
    assert read_elf(build.elf).entry >= silicon_flash  # linked for the real flash address
    assert board.renode is not None
    script = renode_script(build, tmp_path / "uart.log")
    assert f"LoadPlatformDescription @{board.renode.platform}" in script
    assert f"sysbus LoadELF @{build.elf}" in script
    assert f"{board.renode.uart} CreateFileBackend" in script
    if shutil.which("renode") is None:
        with pytest.raises(RenodeNotInstalled, match="Renode is not installed"):
            run_renode(build)


@pytest.mark.host
def test_qemu_build_is_refused_by_renode(tmp_path: Path) -> None:
    board = load_board(RENODE_BOARDS[0])
    require_tools(board)
    build = build_firmware([MATMUL4 / "model.c"], board, tmp_path, matmul4_inputs())
    with pytest.raises(SimError, match="target='silicon'"):
        renode_script(build, tmp_path / "uart.log")


@pytest.mark.renode
@pytest.mark.parametrize("name", RENODE_BOARDS)
def test_fixture_runs_in_renode(name: str, tmp_path: Path) -> None:
    if shutil.which("renode") is None:
        pytest.skip("Renode is not installed (no 'renode' on PATH)")
    board = load_board(name)
    require_tools(board)
    build = build_firmware([MATMUL4 / "model.c"], board, tmp_path, matmul4_inputs(),
                           target="silicon")
    result = run_renode(build, timeout=120)
    assert result.status == 0
    assert_outputs_close(result.outputs, matmul4_reference(*matmul4_inputs()))
