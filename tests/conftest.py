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
    from toolchain.hostbuild import build_runtime_lib

    return build_runtime_lib(tmp_path_factory.mktemp("rt"))


def pytest_collection_modifyitems(config, items):
    for item in items:
        if not any(item.iter_markers(name=m) for m in ("qemu", "hw", "renode")):
            item.add_marker(pytest.mark.host)
