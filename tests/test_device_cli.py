"""The commands as a user runs them, each in its own process: `sim-device` in the
background, `flash` a model into it over gdb://, `validate` and `monitor` over socket://,
then Ctrl-C / SIGTERM: everything ends, QEMU included. (Until the lead registers the
commands on `mcuforge`, each is run as its own click entry point.)"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REAL_MODELS
from fixtures.sim_support import require_tools
from toolchain.boards import load_board
from toolchain.device.simdevice import free_port

pytestmark = pytest.mark.qemu

MODEL = REAL_MODELS["dscnn"]
ROOT = Path(__file__).resolve().parents[1]


def _cmd(name: str, *args: str) -> list[str]:
    return [sys.executable, "-c", f"from toolchain.device.commands import {name}; {name}()",
            *args]


def _run(name: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(_cmd(name, *args), capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})


def _qemu_children(pid: int) -> list[str]:
    out = subprocess.run(["ps", "-o", "pid=,cmd=", "--ppid", str(pid)], capture_output=True,
                         text=True).stdout
    return [line for line in out.splitlines() if "qemu-system" in line]


def test_sim_device_flash_validate_monitor(tmp_path: Path) -> None:
    if not MODEL.is_file():
        pytest.skip(f"{MODEL} not present")
    require_tools(load_board("rv32-rvv"))
    gdb, uart = free_port(), free_port()
    sim = subprocess.Popen(_cmd("sim_device", "--board", "rv32-rvv", "--gdb-port", str(gdb),
                                "--uart-port", str(uart)),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                           env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert sim.stdout is not None
        banner = sim.stdout.readline()
        assert f"gdb://127.0.0.1:{gdb}" in banner and f"socket://127.0.0.1:{uart}" in banner
        qemu = _qemu_children(sim.pid)
        assert qemu, "sim-device started no QEMU"

        fl = _run("flash", str(MODEL), "--board", "rv32-rvv", "--target", "qemu",
                  "--probe", f"gdb://127.0.0.1:{gdb}", "-o", str(tmp_path / "fw"))
        assert fl.returncode == 0, fl.stderr
        assert "verified" in fl.stdout

        mon = subprocess.Popen(_cmd("monitor", "--port", f"socket://127.0.0.1:{uart}"),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert mon.stderr is not None
        assert mon.stderr.readline().startswith("monitoring socket://")
        time.sleep(0.5)
        mon.send_signal(signal.SIGINT)           # Ctrl-C: a clean exit, status 0
        _, err = mon.communicate(timeout=10)
        assert mon.returncode == 0, err
        assert "Traceback" not in err

        val = _run("validate", str(MODEL), "--board", "rv32-rvv", "--port",
                   f"socket://127.0.0.1:{uart}", "--count", "2", "--json")
        assert val.returncode == 0, val.stderr
        assert json.loads(val.stdout)["match"] is True

        bad = _run("validate", str(MODEL), "--board", "rv32-rvv", "--port",
                   f"socket://127.0.0.1:{free_port()}")
        assert bad.returncode == 2
        assert bad.stderr.startswith("error: cannot open serial port")
        assert len(bad.stderr.strip().splitlines()) == 1
    finally:
        sim.send_signal(signal.SIGTERM)
        sim.wait(15)
    assert not _qemu_children(sim.pid)
    time.sleep(0.2)
    pid = int(qemu[0].split()[0])
    status = Path(f"/proc/{pid}/status")
    assert not status.exists() or "zombie" in status.read_text().lower()
