"""Board records (``boards/*.toml``); the compiler command lines derived from them are
toolchain.build.compiler's."""

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

__all__ = [
    "BOARDS_DIR", "Board", "BoardError", "Core", "Exit", "FlashMethod", "Memory", "Qemu",
    "Region", "Renode", "Silicon", "Toolchain", "Uart", "list_boards", "load_board",
]
