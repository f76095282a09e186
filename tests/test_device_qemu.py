"""The device workflow against QEMU as the board: build the protocol firmware for a real
model, flash it over gdb:// into an empty, halted sim-device, validate over socket://
against onnxruntime. Exactly the code paths `mcuforge flash` / `validate` run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from conftest import REAL_MODELS
from fixtures.sim_support import require_tools
from toolchain.boards import load_board
from toolchain.device import (
    DeviceBuild, DeviceClient, Link, ProbeNotFound, ValidationError, WrongTarget,
    build_device_firmware, flash, validate,
)
from toolchain.device.commands import validate as validate_cmd
from toolchain.device.protocol import Counter
from toolchain.device.simdevice import free_port
from toolchain.device.testing import StartSim
from fixtures.device_support import sim_devices  # noqa: F401  (fixture)

pytestmark = pytest.mark.qemu

MODEL = REAL_MODELS["dscnn"]
BOARDS = ["stm32f746-disco", "rv32-rvv"]
Builds = dict[str, DeviceBuild]


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> Builds:
    if not MODEL.is_file():
        pytest.skip(f"{MODEL} not present")
    out = {}
    for name in BOARDS:
        board = load_board(name)
        require_tools(board)
        out[name] = build_device_firmware(MODEL, board, tmp_path_factory.mktemp(name),
                                          target="qemu")
    return out


@pytest.mark.parametrize("name", BOARDS)
def test_flash_then_validate_matches_onnxruntime(name: str, builds: Builds,
                                                 sim_devices: StartSim) -> None:
    board = load_board(name)
    dev = sim_devices(name)
    rep = flash(builds[name].elf, board, dev.probe)
    assert rep.verified and rep.bytes_written == builds[name].build.flash_bytes
    with Link(dev.port) as link:
        client = DeviceClient(link, timeout=2.0)
        report = validate(MODEL, client, count=4, seed=3)
    assert report.match, report
    assert report.samples == 4 and report.build_id == builds[name].build_id
    out = report.outputs[0]
    assert out.top1_agreement == 1.0 and out.max_abs_error < 1e-5
    if board.startup == "riscv":
        # minstret under -icount shift=0: the instruction count, per inference
        assert report.counter == "instructions" and min(report.counts) > 1_000_000
    else:
        assert report.counter == "none"   # QEMU models no DWT: nothing is made up


def test_minstret_agrees_with_the_plugin_count(builds: Builds, sim_devices: StartSim,
                                               tmp_path: Path) -> None:
    """The device's own counter against the TCG plugin's marker count for the same
    input: they differ only by the counter reads and marker calls around the run."""
    from toolchain.api import compile_model, write_sources
    from toolchain.build import build_firmware
    from toolchain.sim import run_qemu

    board = load_board("rv32-rvv")
    x = np.random.default_rng(5).standard_normal((1, 49, 10, 1)).astype(np.float32)
    src = write_sources(compile_model(MODEL), tmp_path / "src")
    plugin = run_qemu(build_firmware(src, board, tmp_path / "fw", [x]), board)
    dev = sim_devices("rv32-rvv")
    flash(builds["rv32-rvv"].elf, board, dev.probe)
    with Link(dev.port) as link:
        inf = DeviceClient(link).infer([x.tobytes()])
    assert inf.run.counter == Counter.INSTRET
    assert plugin.instructions is not None
    assert 0 <= inf.run.count - plugin.instructions < 64
    assert np.array_equal(np.frombuffer(inf.outputs[0], np.float32), plugin.outputs[0])


def test_validate_cli_json(builds: Builds, sim_devices: StartSim) -> None:
    dev = sim_devices("stm32f746-disco")
    flash(builds["stm32f746-disco"].elf, load_board("stm32f746-disco"), dev.probe)
    res = CliRunner().invoke(validate_cmd, [str(MODEL), "--board", "stm32f746-disco",
                                            "--port", dev.port, "--count", "2", "--json"])
    assert res.exit_code == 0, res.output
    rep = json.loads(res.output)
    assert rep["match"] and rep["samples"] == 2 and rep["outputs"][0]["matched_samples"] == 2


def test_validate_refuses_a_device_running_another_model(builds: Builds, sim_devices: StartSim,
                                                         tmp_path: Path) -> None:
    dev = sim_devices("stm32f746-disco")
    flash(builds["stm32f746-disco"].elf, load_board("stm32f746-disco"), dev.probe)
    import onnx

    other = tmp_path / "other.onnx"
    m = onnx.load(str(MODEL))
    m.doc_string = "a different build"   # same graph, different file: a different hash
    onnx.save(m, str(other))
    with Link(dev.port) as link, pytest.raises(ValidationError, match="flash it first"):
        validate(other, DeviceClient(link), count=1)


def test_flash_errors_are_one_line(builds: Builds, sim_devices: StartSim) -> None:
    board = load_board("rv32-rvv")
    with pytest.raises(ProbeNotFound) as nope:
        flash(builds["rv32-rvv"].elf, board, f"gdb://127.0.0.1:{free_port()}")
    assert "\n" not in str(nope.value)
    dev = sim_devices("rv32-rvv")
    with pytest.raises(WrongTarget, match="riscv") as wrong:
        flash(builds["stm32f746-disco"].elf, board, dev.probe)
    assert "\n" not in str(wrong.value)
