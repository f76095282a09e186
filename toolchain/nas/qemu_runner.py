"""Run a NAS candidate's compiled C in QEMU over a whole split: the device path.

One firmware build (the protocol main), one simulated board started empty, the firmware
flashed over its GDB stub, then every sample sent over the UART and its logits read back:
the same code path `mcuforge validate` uses on a real board.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from toolchain.api import CompiledModel
from toolchain.boards import load_board
from toolchain.device import DeviceClient, Link, build_device_firmware, flash, start_sim_device
from toolchain.nas.deploy import Progress, Runner, no_progress


def qemu_runner(board_name: str, progress: Progress = no_progress, work_dir: Path | None = None) -> Runner:
    board = load_board(board_name)

    def run(cm: CompiledModel, x: np.ndarray) -> np.ndarray:
        with tempfile.TemporaryDirectory(prefix="mcuforge-nas-qemu-") as tmp:
            build = build_device_firmware(cm, board, Path(work_dir or tmp), target="qemu")
            dev = start_sim_device(board)
            try:
                flash(build.build.elf, board, dev.probe)
                rows = []
                with Link(dev.port) as link:
                    client = DeviceClient(link, timeout=2.0)
                    for i in progress(range(len(x)), desc=f"QEMU {board.name}", total=len(x)):
                        sample = np.ascontiguousarray(x[i:i + 1], dtype=np.float32)
                        out = client.infer([sample.tobytes()]).outputs[0]
                        rows.append(np.frombuffer(out, dtype=np.float32).copy())
            finally:
                dev.stop()
        width = cm.graph.tensors[cm.graph.outputs[0]].size
        return np.stack(rows) if rows else np.zeros((0, width), np.float32)

    return run
