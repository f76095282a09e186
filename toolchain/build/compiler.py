"""Compiler and linker command lines for a board.

The board record holds the target flags; this module adds what every build needs (warnings,
sections for --gc-sections) and, for clang boards, the C library and libgcc that clang cannot
find by itself on bare-metal targets: it asks the GCC cross driver named in the record.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from toolchain.boards.board import Board, BoardError

# -ffunction-sections/-fdata-sections let --gc-sections drop unused kernels and weights.
COMMON_CFLAGS: tuple[str, ...] = (
    "-std=c11", "-Wall", "-Wextra", "-ffunction-sections", "-fdata-sections", "-g",
)
TOOL_QUERY_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class CompilerSetup:
    """Everything needed to compile and link for one board.

    compile: ``cc *cflags -c src -o obj``; link: ``cc *cflags *ldflags objs *libs -o elf``.
    """

    cc: str
    cflags: tuple[str, ...]
    ldflags: tuple[str, ...]
    libs: tuple[str, ...]


def compiler_setup(board: Board, werror: bool = True) -> CompilerSetup:
    tc = board.toolchain
    require_tool(tc.cc, board)
    cflags = [*tc.cflags, *COMMON_CFLAGS]
    if werror:
        cflags.append("-Werror")
    ldflags = list(tc.ldflags)
    libs = list(tc.libs)
    if board.bare_metal:
        ldflags.append("-Wl,--gc-sections")
    if tc.libs_from_gcc is not None and tc.picolibc_root is not None:
        libs_dir, libgcc = _gcc_library_paths(tc.libs_from_gcc, tc.libs_from_gcc_flags)
        root = Path(tc.picolibc_root)
        cflags += ["-isystem", str(root / "include")]
        # -lc after our objects, libgcc last: picolibc's soft helpers call into libgcc
        libs = [f"-L{root / 'lib' / libs_dir}", "-lc", *libs, libgcc]
    return CompilerSetup(cc=tc.cc, cflags=tuple(cflags), ldflags=tuple(ldflags),
                         libs=tuple(libs))


def require_tool(tool: str, board: Board) -> None:
    if shutil.which(tool) is None:
        raise BoardError(f"board {board.name} needs '{tool}', which is not on PATH "
                         "(install the cross toolchains listed in docs: gcc-arm-none-eabi, "
                         "picolibc-*, gcc-riscv64-unknown-elf, clang-19, lld-19)")


@functools.lru_cache(maxsize=None)
def _gcc_library_paths(gcc: str, flags: tuple[str, ...]) -> tuple[str, str]:
    """(multilib directory, libgcc.a path) as the GCC driver picks them for these flags."""
    if shutil.which(gcc) is None:
        raise BoardError(f"'{gcc}' (used to locate libgcc and the C library) is not on PATH")
    multi = _query(gcc, *flags, "-print-multi-directory")
    libgcc = _query(gcc, *flags, "-print-libgcc-file-name")
    if not Path(libgcc).is_file():
        raise BoardError(f"{gcc} {' '.join(flags)} reports libgcc at {libgcc}, which does "
                         "not exist")
    return multi, libgcc


def _query(*cmd: str) -> str:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, check=False,
                              timeout=TOOL_QUERY_TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        raise BoardError(f"'{' '.join(cmd)}' did not answer within "
                         f"{TOOL_QUERY_TIMEOUT_S:.0f} s") from exc
    if done.returncode != 0:
        raise BoardError(f"'{' '.join(cmd)}' failed: {done.stderr.strip()}")
    return done.stdout.strip()
