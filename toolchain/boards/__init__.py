"""Board records (``boards/*.toml``) and the compiler command lines derived from them."""

from toolchain.boards.board import (
    BOARDS_DIR,
    Board,
    BoardError,
    Core,
    Exit,
    FlashMethod,
    Memory,
    Qemu,
    Region,
    Renode,
    Silicon,
    Toolchain,
    Uart,
    list_boards,
    load_board,
)
from toolchain.boards.compiler import CompilerSetup, compiler_setup

__all__ = [
    "BOARDS_DIR", "Board", "BoardError", "Core", "Exit", "FlashMethod", "Memory", "Qemu",
    "Region", "Renode", "Silicon", "Toolchain", "Uart", "list_boards", "load_board",
    "CompilerSetup", "compiler_setup",
]
