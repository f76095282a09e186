"""Run firmware that toolchain.build built: under QEMU (or natively for the host board), or
Renode.

    build = build_firmware(sources, board, out_dir, inputs)     # toolchain.build -> BuildResult
    result = run_qemu(build, board, timeout=60)                 # -> RunResult

The names load on first use (PEP 562): toolchain.build.firmware imports sim.cluster and
sim.elfinfo, and an eager import of sim.qemu here (which takes BuildResult from
toolchain.build) would close that loop while toolchain.build is half imported.
The builds themselves (build_firmware, BuildResult, Markers) live in toolchain.build.
"""

from __future__ import annotations

import importlib
from typing import Any

_HOME = {
    "BudgetError": "toolchain.sim.errors", "RenodeNotInstalled": "toolchain.sim.errors",
    "RunError": "toolchain.sim.errors", "SimError": "toolchain.sim.errors", "ToolError": "toolchain.sim.errors",
    "RunResult": "toolchain.sim.qemu", "qemu_command": "toolchain.sim.qemu", "run_firmware": "toolchain.sim.qemu",
    "run_host": "toolchain.sim.qemu", "run_qemu": "toolchain.sim.qemu",
    "renode_script": "toolchain.sim.renode", "run_renode": "toolchain.sim.renode",
}

__all__ = sorted(_HOME)


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'toolchain.sim' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOME[name]), name)
