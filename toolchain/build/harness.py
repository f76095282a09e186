"""Which harness files (runtime_c/board/) and -D flags a board's fields select.

Tables keyed by field values (startup kind, UART kind, exit method), not by board names:
a new board made of known parts needs no code here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from toolchain.boards import Board, Exit, Uart
from toolchain.resources import RUNTIME_DIR
from toolchain.resources import TEMPLATES_DIR as _TEMPLATES

HARNESS_DIR = RUNTIME_DIR / "board"
TEMPLATES_DIR = _TEMPLATES / "board"

Target = Literal["qemu", "silicon"]


@dataclass(frozen=True)
class StartupKind:
    sources: tuple[str, ...]
    entry_symbol: str | None    # ELF entry; None: the host C library's
    linker_script: bool         # bare metal: our script enforces the board's memory


STARTUPS: dict[str, StartupKind] = {
    "cortexm": StartupKind(("startup_cortexm.c", "mf_crt.c"), "mf_reset_handler", True),
    "riscv": StartupKind(("startup_riscv.S", "trap_riscv.c", "mf_crt.c"), "_start", True),
    # every hart enters _start; hart 0 runs the model, the others fork/join (mf_cluster.h)
    "riscv_cluster": StartupKind(("startup_riscv_cluster.S", "trap_riscv.c", "mf_crt.c",
                                  "mf_cluster_riscv.c"), "_start", True),
    "hosted": StartupKind(("startup_hosted.c",), None, False),
}
UART_SOURCES: dict[str, str] = {
    "cmsdk": "uart_cmsdk.c",
    "stm32_usart": "uart_stm32_usart.c",
    "stm32_usart_v2": "uart_stm32_usart_v2.c",
    "ns16550": "uart_ns16550.c",
    "stdio": "uart_stdio.c",
}
EXIT_SOURCES: dict[str, str] = {
    "semihosting": "exit_semihosting.c",
    "sifive_test": "exit_sifive_test.c",
    "hosted": "exit_hosted.c",
    "spin": "exit_spin.c",
}
COMMON_SOURCES: tuple[str, ...] = ("mf_bench.c", "mf_print.c")


@dataclass(frozen=True)
class Layout:
    """Where the image goes and how it talks: the QEMU machine's view or the silicon's."""

    flash_origin: int
    ram_origin: int
    uart: Uart
    exit: Exit


def layout(board: Board, target: Target) -> Layout:
    if target == "silicon" and board.silicon is not None:
        s = board.silicon
        return Layout(s.flash_origin, s.ram_origin, s.uart, s.exit)
    return Layout(board.memory.flash.origin, board.memory.ram.origin, board.uart, board.exit)


def harness_sources(board: Board, lay: Layout) -> list[Path]:
    names = [*STARTUPS[board.startup].sources, UART_SOURCES[lay.uart.kind],
             EXIT_SOURCES[lay.exit.method], *COMMON_SOURCES]
    return [HARNESS_DIR / n for n in names]


def harness_defines(lay: Layout) -> list[str]:
    defines = []
    if lay.uart.base is not None:
        defines.append(f"-DMF_UART_BASE={lay.uart.base:#x}u")
    if lay.exit.base is not None:
        defines.append(f"-DMF_EXIT_BASE={lay.exit.base:#x}u")
    return defines
