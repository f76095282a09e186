"""The hardware tier: a real board on the desk, over serial. Opt-in only:

    pytest -m hw --hw-port /dev/ttyACM0 --hw-board stm32f746-disco [--hw-probe pyocd]

Flashes the protocol firmware (when a probe is given), then validates DS-CNN on the device
against onnxruntime: the same code path the QEMU tier runs against sim-device.
"""

from __future__ import annotations

import pytest

from conftest import REAL_MODELS

pytestmark = pytest.mark.hw


def test_validate_on_the_real_board(hw, tmp_path) -> None:
    from toolchain.boards import load_board
    from toolchain.device import DeviceClient, Link, build_device_firmware, flash, validate

    board = load_board(hw["board"])
    if hw["probe"]:
        build = build_device_firmware(REAL_MODELS["dscnn"], board, tmp_path, target="silicon")
        rep = flash(build.build.elf, board, hw["probe"])
        assert rep.verified
    with Link(hw["port"]) as link:
        report = validate(REAL_MODELS["dscnn"], DeviceClient(link, timeout=2.0), count=10, seed=0)
    assert report.match, report
    assert report.outputs[0].top1_agreement == 1.0
