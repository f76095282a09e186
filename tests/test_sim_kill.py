"""Killing the simulator (or mcuforge) in the middle of `mcuforge run --sim`: the command ends
in bounded time with one line, leaves no QEMU behind and no temporary folder (issue 11 #8).

Each run gets its own TMPDIR, so "no temporary folder left" is checked exactly; the model
is ~60 M MACs of 3x3 convolutions so that QEMU is still running when the signal lands.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

ROOT = Path(__file__).resolve().parents[1]
BOARD = "stm32f746-disco"


def _heavy_model(path: Path) -> Path:
    rng = np.random.default_rng(0)
    nodes, inits, prev = [], [], "x"
    for i in range(7):  # 7 x (3x3, 24->24 channels, 24x24): 7 x 3.0 M MACs, 21 M in all
        w = numpy_helper.from_array((rng.standard_normal((24, 24, 3, 3)) * 0.05).astype(np.float32), f"w{i}")
        inits.append(w)
        nodes.append(helper.make_node("Conv", [prev, w.name], [f"c{i}"], name=f"conv{i}", pads=[1, 1, 1, 1]))
        nodes.append(helper.make_node("Relu", [f"c{i}"], [f"r{i}"], name=f"relu{i}"))
        prev = f"r{i}"
    g = helper.make_graph(nodes, "heavy", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 24, 24, 24])],
                          [helper.make_tensor_value_info(prev, TensorProto.FLOAT, [1, 24, 24, 24])], inits)
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def _children(pid: int) -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(d.name))
    return out


def _cmdline(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _wait_for_qemu(p: subprocess.Popen, timeout: float = 240) -> int:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        assert p.poll() is None, p.communicate()
        for c in _children(p.pid):
            if "qemu-system" in _cmdline(c):
                return c
        time.sleep(0.05)
    raise AssertionError("QEMU never started")


def _alive(pid: int) -> bool:
    try:
        stat = (Path("/proc") / str(pid) / "stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.qemu
@pytest.mark.slow
@pytest.mark.parametrize("victim,sig", [("qemu", signal.SIGKILL), ("qemu", signal.SIGTERM),
                                        ("mcuforge", signal.SIGTERM), ("mcuforge", signal.SIGINT),
                                        ("mcuforge", signal.SIGKILL)])
def test_kill_mid_run(tmp_path, victim, sig) -> None:
    model = _heavy_model(tmp_path / "heavy.onnx")
    tmp = tmp_path / "tmpdir"
    tmp.mkdir()
    env = dict(os.environ, TMPDIR=str(tmp), PYTHONPATH=str(ROOT))
    p = subprocess.Popen([sys.executable, "-m", "toolchain.cli", "run", str(model), "--board", BOARD],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT,
                         start_new_session=True)
    try:
        qemu = _wait_for_qemu(p)
        time.sleep(0.3)  # mid-run: the firmware is computing
        os.kill(qemu if victim == "qemu" else p.pid, sig)
        t0 = time.monotonic()
        out, err = p.communicate(timeout=30)
        assert time.monotonic() - t0 < 30
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
    deadline = time.monotonic() + 5
    while _alive(qemu) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(qemu), "QEMU outlived the run"
    if victim == "mcuforge" and sig == signal.SIGKILL:
        assert p.returncode == -signal.SIGKILL  # nothing can print or clean up after SIGKILL
        return
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    if victim == "qemu":
        assert p.returncode == 2 and f"killed by {signal.Signals(sig).name}" in lines[0], err
    else:
        assert p.returncode == 128 + sig and "interrupted" in lines[0], err
    assert list(tmp.iterdir()) == [], list(tmp.iterdir())
