"""The instruction-counting plugin: built on demand, rebuilt when its source changes, exact
(a count that scales linearly with a loop's trip count), and LMUL-aware on RVV."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from fixtures.sim_support import MATMUL4, RVV_LMUL, boards_where, require_tools
from toolchain.boards import load_board
from toolchain.build import build_firmware
from toolchain.sim import run_qemu
from toolchain.sim import plugin as plugin_mod

pytestmark = pytest.mark.qemu

RVV_BOARDS = boards_where(lambda b: b.core.simd == "rvv" and b.qemu is not None)
SIMULATED = boards_where(lambda b: b.qemu is not None)


def test_plugin_is_cached_and_rebuilt_on_source_change(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    if shutil.which(plugin_mod.PLUGIN_CC) is None:
        pytest.skip("no host compiler")
    src = tmp_path / "src"
    shutil.copytree(plugin_mod.PLUGIN_DIR, src)
    monkeypatch.setattr(plugin_mod, "PLUGIN_DIR", src)
    first = plugin_mod.plugin_path(tmp_path / "cache")
    assert first.is_file()
    assert plugin_mod.plugin_path(tmp_path / "cache") == first  # cached
    with open(src / "mf_icount.c", "a") as fh:
        fh.write("\n/* edited */\n")
    second = plugin_mod.plugin_path(tmp_path / "cache")
    assert second != first and second.is_file()


@pytest.mark.parametrize("name", SIMULATED)
def test_count_is_linear_in_work(name: str, tmp_path: Path) -> None:
    """Extra loop trips add exactly the same number of instructions each time: the count
    sees every executed instruction and nothing outside the markers."""
    board = load_board(name)
    require_tools(board)
    counts = []
    for trips in (1, 2, 3):
        build = build_firmware([MATMUL4 / "model.c"], board, tmp_path / str(trips),
                               [np.ones((4, 4), np.float32), np.ones(4, np.float32)],
                               extra_cflags=[f"-DMF_FIXTURE_RUN_TRIPS={trips}"])
        counts.append(run_qemu(build, board, timeout=60).instructions)
    assert counts[0] is not None and counts[0] > 0
    assert counts[2] - counts[1] == counts[1] - counts[0] > 0


@pytest.mark.parametrize("name", RVV_BOARDS)
def test_lmul_weighting(name: str, tmp_path: Path) -> None:
    board = load_board(name)
    require_tools(board)
    x = np.arange(16, dtype=np.float32) - 3.5
    build = build_firmware([RVV_LMUL / "model.c"], board, tmp_path, [x])
    plain = run_qemu(build, board, timeout=60)
    weighted = run_qemu(build, board, timeout=60, lmul_weighting=True)
    np.testing.assert_array_equal(weighted.outputs[0], x + x)
    assert plain.weighted_instructions is None
    assert weighted.instructions == plain.instructions
    # three vector instructions at LMUL 4: each counts 4 times instead of once
    assert weighted.weighted_instructions == plain.instructions + 3 * (4 - 1)
