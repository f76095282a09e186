"""Build firmware for a board and run it under QEMU (or natively for the host board).

    build = build_firmware(sources, board, out_dir, inputs)     # -> BuildResult
    result = run_qemu(build, board, timeout=60)                 # -> RunResult
"""

from toolchain.sim.errors import (
    BudgetError, RenodeNotInstalled, RunError, SimError, ToolError,
)
from toolchain.sim.firmware import BuildResult, Markers, build_firmware
from toolchain.sim.qemu import RunResult, qemu_command, run_firmware, run_host, run_qemu
from toolchain.sim.renode import renode_script, run_renode

__all__ = [
    "BudgetError", "BuildResult", "Markers", "RenodeNotInstalled", "RunError", "RunResult",
    "SimError", "ToolError", "build_firmware", "qemu_command", "renode_script", "run_firmware",
    "run_host", "run_qemu", "run_renode",
]
