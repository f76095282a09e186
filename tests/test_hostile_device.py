"""Issue 11 on the device path, against QEMU as the board: `validate` refuses a --board that
the device's build is not for, and when the simulator dies mid-run it says how many
inferences had completed."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import REAL_MODELS
from fixtures.sim_support import require_tools
from toolchain.boards import load_board
from toolchain.device import DeviceClient, Link, ValidationError, build_device_firmware, flash, validate
from fixtures.device_support import sim_devices  # noqa: F401  (fixture)
from toolchain.device.testing import StartSim

pytestmark = pytest.mark.qemu
BOARD = "stm32f746-disco"


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory):
    board = load_board(BOARD)
    require_tools(board)
    return build_device_firmware(REAL_MODELS["dscnn"], board, tmp_path_factory.mktemp("dev"), target="qemu")


def test_validate_refuses_another_board(build, sim_devices: StartSim) -> None:
    dev = sim_devices(BOARD)
    flash(build.elf, load_board(BOARD), dev.probe)
    with Link(dev.port) as link, pytest.raises(ValidationError, match="not for --board rv32-rvv"):
        validate(REAL_MODELS["dscnn"], DeviceClient(link), count=1, board="rv32-rvv")
    with Link(dev.port) as link:
        assert validate(REAL_MODELS["dscnn"], DeviceClient(link), count=1, board=BOARD).match


def test_simulator_dying_mid_validate_says_how_far(build, sim_devices: StartSim) -> None:
    dev = sim_devices(BOARD)
    flash(build.elf, load_board(BOARD), dev.probe)
    with Link(dev.port) as link:
        client = DeviceClient(link, timeout=8.0, retries=1, restarts=0)  # generous: CI machines are loaded
        infer, done = client.infer, [0]

        def dying(*a, **k):  # noqa: ANN002, ANN003
            if done[0] == 2:
                dev.process.kill()
                dev.process.wait()
            done[0] += 1
            return infer(*a, **k)

        client.infer = dying  # type: ignore[method-assign]
        with pytest.raises(ValidationError, match=r"\(2 of 5 inferences had completed\)"):
            validate(REAL_MODELS["dscnn"], client, count=5, board=BOARD)
