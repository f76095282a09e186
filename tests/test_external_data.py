"""Weights in a .onnx.data side file: found next to the model from any working directory, never
in the working directory, and never outside the model's folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from toolchain.api import compile_model
from toolchain.verify import verify

ROOT = Path(__file__).resolve().parents[1]


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "toolchain.cli", *args], capture_output=True, text=True,
                          timeout=120, cwd=cwd, env=env)


def _model(w: np.ndarray) -> onnx.ModelProto:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 64])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 64])
    init = numpy_helper.from_array(w, "w")
    g = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")], "g", [x], [y], [init])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


def _save_external(m: onnx.ModelProto, path: Path, location: str) -> None:
    onnx.save_model(m, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                    location=location, size_threshold=0)


def test_external_data_resolved_next_to_the_model(tmp_path):
    w = np.random.default_rng(0).standard_normal((64, 64)).astype(np.float32)
    d = tmp_path / "models"
    d.mkdir()
    _save_external(_model(w), d / "mm.onnx", "mm.onnx.data")
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    # A decoy of the same name in the working directory must not be read as the weights.
    (elsewhere / "mm.onnx.data").write_bytes(np.zeros_like(w).tobytes())
    r = _cli(elsewhere, "verify", str(d / "mm.onnx"), "--json")
    assert r.returncode == 0, r.stderr
    cm = compile_model(d / "mm.onnx")
    np.testing.assert_array_equal(cm.graph.tensors["w"].data, w)
    old = os.getcwd()
    try:
        os.chdir(elsewhere)
        assert verify(d / "mm.onnx").match
    finally:
        os.chdir(old)


def test_external_data_outside_the_folder_is_refused(tmp_path):
    w = np.ones((64, 64), np.float32)
    d = tmp_path / "models"
    d.mkdir()
    _save_external(_model(w), d / "mm.onnx", "mm.onnx.data")
    m = onnx.load_model(str(d / "mm.onnx"), load_external_data=False)
    (tmp_path / "secret.data").write_bytes((d / "mm.onnx.data").read_bytes())
    for t in m.graph.initializer:
        for e in t.external_data:
            if e.key == "location":
                e.value = "../secret.data"
    onnx.save_model(m, str(d / "evil.onnx"))
    r = _cli(tmp_path, "compile", str(d / "evil.onnx"), "-o", str(tmp_path / "out"))
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "outside the model's folder" in lines[0], r.stderr


def test_missing_external_data_is_one_line(tmp_path):
    d = tmp_path / "models"
    d.mkdir()
    _save_external(_model(np.ones((64, 64), np.float32)), d / "mm.onnx", "mm.onnx.data")
    (d / "mm.onnx.data").unlink()
    r = _cli(tmp_path, "compile", str(d / "mm.onnx"), "-o", str(tmp_path / "out"))
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.returncode == 2 and len(lines) == 1 and "does not exist" in lines[0], r.stderr
