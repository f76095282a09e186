"""Shared fixtures: the runtime built once per test process, tiers as markers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT.parent / "shared" / "models"
if not MODELS.is_dir():  # CI lays shared/ beside the clone; a dev checkout may differ
    MODELS = Path(os.environ.get("MCUFORGE_SHARED", "/work/shared")) / "models"
EXAMPLES = ROOT / "examples"

REAL_MODELS = {
    "resnet8": MODELS / "resnet8_cifar10.onnx",
    "dscnn": MODELS / "dscnn_kws.onnx",
    "vit_opset13": EXAMPLES / "vit_tiny_opset13.onnx",
    "vit_opset18": EXAMPLES / "vit_tiny_opset18.onnx",
    "lowrank_vit": EXAMPLES / "lowrank_vit_112.onnx",
}


@pytest.fixture(scope="session")
def runtime_lib(tmp_path_factory) -> Path:
    from toolchain.build.host import build_runtime_lib

    return build_runtime_lib(tmp_path_factory.mktemp("rt"))


def pytest_addoption(parser):
    g = parser.getgroup("mcuforge hardware tier (opt-in)")
    g.addoption("--hw-port", default=None, help="serial URL of a real board (e.g. /dev/ttyACM0); enables -m hw")
    g.addoption("--hw-board", default="stm32f746-disco", help="board record of the device on --hw-port")
    g.addoption("--hw-probe", default=None, help="flash first with this probe (pyocd, openocd, gdb://H:P)")


@pytest.fixture
def hw(request):
    port = request.config.getoption("--hw-port")
    if not port:
        pytest.skip("no real board: pass --hw-port (and --hw-board, --hw-probe) to run the hw tier")
    return {"port": port, "board": request.config.getoption("--hw-board"),
            "probe": request.config.getoption("--hw-probe")}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if not any(item.iter_markers(name=m) for m in ("qemu", "hw", "renode")):
            item.add_marker(pytest.mark.host)
