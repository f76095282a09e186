"""End to end: a real ONNX model through the compiler (toolchain.api), cross-compiled for
every simulated board, run under QEMU, compared with onnxruntime."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import REAL_MODELS
from fixtures.sim_support import require_tools, simulated_boards
from toolchain.api import compile_model, write_sources
from toolchain.boards import load_board
from toolchain.build import build_firmware
from toolchain.sim import run_qemu

pytestmark = [pytest.mark.qemu, pytest.mark.slow]

MODEL = REAL_MODELS["dscnn"]


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    ort = pytest.importorskip("onnxruntime")
    if not MODEL.is_file():
        pytest.skip(f"{MODEL} not present")
    sources = write_sources(compile_model(MODEL), tmp_path_factory.mktemp("src"))
    session = ort.InferenceSession(str(MODEL))
    rng = np.random.default_rng(7)
    inputs = [rng.standard_normal([d if isinstance(d, int) else 1 for d in i.shape])
              .astype(np.float32) for i in session.get_inputs()]
    expected = session.run(None, {i.name: x for i, x in zip(session.get_inputs(), inputs)})
    return sources, inputs, expected


@pytest.mark.parametrize("name", simulated_boards())
def test_model_matches_onnxruntime(name: str, compiled,  # type: ignore[no-untyped-def]
                                   tmp_path: Path) -> None:
    sources, inputs, expected = compiled
    board = load_board(name)
    require_tools(board)
    build = build_firmware(sources, board, tmp_path, inputs)
    result = run_qemu(build, board, timeout=120)
    assert result.status == 0 and result.instructions
    for got, want in zip(result.outputs, expected):
        np.testing.assert_allclose(got, np.asarray(want).reshape(-1), rtol=1e-4, atol=1e-5)
