"""Builds, for the host and for a board, in one package: the compiler command lines a board
record implies (``compiler``), host builds of generated C with gcc (``host``), and firmware
for a board: the harness (startup, linker script, UART/exit) and the cross-compile and link
(``firmware``, ``harness``). ``sim/`` runs what this builds (QEMU, Renode); ``device/`` flashes
it.

    setup = compiler_setup(board)                               # -> CompilerSetup
    binary = build_host(sources_dir, out_dir)                   # -> HostBinary (host gcc)
    build = build_firmware(sources, board, out_dir, inputs)     # -> BuildResult (one ELF)
"""

from toolchain.build.compiler import CompilerSetup, compiler_setup, require_tool
from toolchain.build.firmware import BuildResult, Markers, build_firmware, find_markers
from toolchain.build.harness import HARNESS_DIR, Layout, Target, layout
from toolchain.build.host import SANITIZE, WARN, BuildError, HostBinary, build_host, build_runtime_lib, host_cc, run_host

__all__ = [
    "HARNESS_DIR", "SANITIZE", "WARN", "BuildError", "BuildResult", "CompilerSetup", "HostBinary", "Layout",
    "Markers", "Target", "build_firmware", "build_host", "build_runtime_lib", "compiler_setup", "find_markers",
    "host_cc", "layout", "require_tool", "run_host",
]
