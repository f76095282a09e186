"""Run firmware that toolchain.build built: under QEMU (or natively for the host board), or
Renode.

    build = build_firmware(sources, board, out_dir, inputs)     # toolchain.build -> BuildResult
    result = run_qemu(build, board, timeout=60)                 # -> RunResult

The names load on first use (PEP 562): toolchain.build.firmware imports sim.cluster and
sim.elfinfo, and an eager import of sim.qemu here (which takes BuildResult from
toolchain.build) would close that loop while toolchain.build is half imported.
build_firmware, BuildResult and Markers are still reachable here for code written against the
old place (the branches of this session); new code imports them from toolchain.build.
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
    "BuildResult": "toolchain.build.firmware", "Markers": "toolchain.build.firmware",
    "build_firmware": "toolchain.build.firmware",
}

__all__ = sorted(_HOME)


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'toolchain.sim' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOME[name]), name)
