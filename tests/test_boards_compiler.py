"""Compiler set-up per board: the flags come from the record, clang boards get picolibc and
libgcc from the GCC cross driver."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtures.sim_support import require_tools
from toolchain.boards import list_boards, load_board
from toolchain.build import compiler_setup

pytestmark = pytest.mark.host


@pytest.mark.parametrize("name", list_boards())
def test_compiler_setup(name: str) -> None:
    board = load_board(name)
    require_tools(board)
    setup = compiler_setup(board)
    assert setup.cc == board.toolchain.cc
    assert "-Werror" in setup.cflags and "-std=c11" in setup.cflags
    for flag in board.toolchain.cflags:
        assert flag in setup.cflags
    if board.toolchain.libs_from_gcc is not None:
        libgcc = setup.libs[-1]
        assert Path(libgcc).name == "libgcc.a" and Path(libgcc).is_file()
        assert any(f.startswith("-L") and Path(f[2:]).is_dir() for f in setup.libs)
    assert "-Werror" not in compiler_setup(board, werror=False).cflags
