"""Fault tests on the real link to QEMU: a proxy between host and the simulated board's
UART drops, corrupts and delays bytes, or cuts the connection; the board is reset through
its GDB stub mid-transfer. Every inference either returns exactly the fault-free outputs or
fails with one clear line, within a bounded time. Never a wrong result."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import REAL_MODELS
from fixtures.sim_support import require_tools
from toolchain.boards import load_board
from toolchain.device import (
    DeviceClient, DeviceError, Link, LinkStats, build_device_firmware, flash,
)
from toolchain.device.monitoring import monitor
from toolchain.device.simdevice import SimDevice
from toolchain.device.testing import Faults, FaultyProxy, reset_device
from toolchain.device.testing import StartSim
from fixtures.device_support import sim_devices  # noqa: F401  (fixture)

pytestmark = pytest.mark.qemu

MODEL = REAL_MODELS["dscnn"]
BOARD = "stm32f746-disco"     # the faster of the two simulated boards; same client code
SAMPLES = 3
# worst case per inference with these settings is about a minute; failing runs end sooner
CLIENT = dict(timeout=0.5, run_timeout=5.0, retries=4, restarts=2)
BOUND_S = 90.0


@pytest.fixture(scope="module")
def device_elf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not MODEL.is_file():
        pytest.skip(f"{MODEL} not present")
    board = load_board(BOARD)
    require_tools(board)
    return build_device_firmware(MODEL, board, tmp_path_factory.mktemp("fw"),
                                 target="qemu").elf


def _inputs() -> list[bytes]:
    rng = np.random.default_rng(11)
    return [rng.standard_normal(490).astype(np.float32).tobytes() for _ in range(SAMPLES)]


def _flashed(sim_devices: StartSim, elf: Path) -> SimDevice:
    dev = sim_devices(BOARD)
    flash(elf, load_board(BOARD), dev.probe)
    return dev


def _reference(port: str, inputs: list[bytes]) -> list[bytes]:
    with Link(port) as link:
        client = DeviceClient(link)
        return [client.infer([x]).outputs[0] for x in inputs]


def _run_through(url: str, inputs: list[bytes],
                 want: list[bytes]) -> tuple[int, int, str, LinkStats]:
    """(completed, failed, last error, link stats) over all samples; asserts every
    completed one is exactly right and every sample ends within the bound."""
    done = failed = 0
    last = ""
    with Link(url, reopen_attempts=3, reopen_wait=0.2) as link:
        client = DeviceClient(link, **CLIENT)  # type: ignore[arg-type]
        for x, w in zip(inputs, want):
            t0 = time.monotonic()
            try:
                got = client.infer([x]).outputs[0]
            except DeviceError as exc:
                last = str(exc)
                assert last and "\n" not in last
                failed += 1
            else:
                assert got == w, "a damaged link produced a wrong result"
                done += 1
            assert time.monotonic() - t0 < BOUND_S
        print(f"{url}: {done} done, {failed} failed, {client.stats}; last error: {last}")
        return done, failed, last, client.stats


@pytest.mark.parametrize("faults", [
    Faults(drop=0.0005, seed=1),
    Faults(corrupt=0.0005, seed=2),
    Faults(drop=0.0003, corrupt=0.0003, max_delay=0.02, seed=3),
    Faults(max_delay=0.05, seed=4),
    Faults(drop=0.01, corrupt=0.01, seed=5),      # hopeless: must fail, clearly and in time
], ids=["drop", "corrupt", "mixed+delay", "delay", "hopeless"])
def test_damaged_link(faults: Faults, device_elf: Path,
                      sim_devices: StartSim) -> None:
    dev = _flashed(sim_devices, device_elf)
    inputs = _inputs()
    want = _reference(dev.port, inputs)
    with FaultyProxy(dev.uart_port, faults) as proxy:
        done, failed, last, stats = _run_through(proxy.url, inputs, want)
    if faults.drop or faults.corrupt:
        assert proxy.damaged > 0 and stats.resends > 0   # the faults did happen
    if faults.drop + faults.corrupt <= 0.001:
        assert done >= 1, last        # recoverable damage is recovered from
    if faults.drop + faults.corrupt == 0:
        assert done == SAMPLES
    assert done + failed == SAMPLES


def test_link_reset_mid_transfer(device_elf: Path, sim_devices: StartSim) -> None:
    dev = _flashed(sim_devices, device_elf)
    inputs = _inputs()
    want = _reference(dev.port, inputs)
    # the connection is cut every 1-2 KB: inside input writes and output reads alike
    with FaultyProxy(dev.uart_port, Faults(reset_every=2000, seed=7)) as proxy:
        done, failed, last, stats = _run_through(proxy.url, inputs, want)
        assert proxy.resets >= 1 and stats.reconnects >= 1
    assert done >= 1, last


def test_device_reset_mid_transfer(device_elf: Path, sim_devices: StartSim) -> None:
    dev = _flashed(sim_devices, device_elf)
    inputs = _inputs() * 2
    want = _reference(dev.port, inputs)
    stop = threading.Event()

    def press_reset() -> None:
        # a few resets at different points of the transfers
        for delay in (0.15, 0.6, 0.35):
            if stop.wait(delay):
                return
            reset_device(dev, device_elf)

    presser = threading.Thread(target=press_reset, daemon=True)
    presser.start()
    try:
        done, failed, last, stats = _run_through(dev.port, inputs, want)
    finally:
        stop.set()
        presser.join(10)
    assert done >= 1, last
    assert stats.restarts + stats.boots_seen + stats.resends >= 1   # the resets were felt
    # after the resets the device still works
    assert _reference(dev.port, inputs[:1]) == want[:1]


def test_monitor_survives_link_drops_and_shows_a_reboot(device_elf: Path,
                                                        sim_devices: StartSim) -> None:
    dev = _flashed(sim_devices, device_elf)
    lines: list[str] = []
    with FaultyProxy(dev.uart_port, Faults(reset_every=10, seed=9)) as proxy:
        def traffic() -> None:
            time.sleep(0.5)
            reset_device(dev, device_elf)        # prints MF_BOOT while the monitor listens
        t = threading.Thread(target=traffic, daemon=True)
        t.start()
        # the boot line (about 50 bytes) is cut after 5-10 bytes: the monitor reconnects
        monitor(proxy.url, emit=lines.append, duration=3.0, reconnect_wait=0.1)
        t.join(5)
    assert any(line.startswith("MF_BOOT") or "reconnect" in line for line in lines), lines
    assert any("reconnected" in line for line in lines), lines


def test_monitor_shows_boot_line_and_frames(device_elf: Path,
                                            sim_devices: StartSim) -> None:
    dev = _flashed(sim_devices, device_elf)
    lines: list[str] = []

    def traffic() -> None:
        time.sleep(0.4)
        reset_device(dev, device_elf)

    t = threading.Thread(target=traffic, daemon=True)
    t.start()
    monitor(dev.port, emit=lines.append, duration=1.5)
    t.join(5)
    assert any(line.startswith("MF_BOOT stm32f746-disco build") for line in lines), lines
