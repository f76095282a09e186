"""The host board runs the same firmware main natively (no simulator, no count)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtures.sim_support import (
    MATMUL4, assert_outputs_close, boards_where, matmul4_inputs, matmul4_reference,
    require_tools,
)
from toolchain.boards import load_board
from toolchain.build import build_firmware
from toolchain.sim import SimError, run_firmware, run_qemu

pytestmark = pytest.mark.host

HOSTED = boards_where(lambda b: not b.bare_metal)


@pytest.mark.parametrize("name", HOSTED)
def test_fixture_runs_natively(name: str, tmp_path: Path) -> None:
    board = load_board(name)
    require_tools(board)
    build = build_firmware([MATMUL4 / "model.c"], board, tmp_path, matmul4_inputs(3))
    result = run_firmware(build, timeout=30)
    assert result.status == 0 and result.instructions is None
    assert_outputs_close(result.outputs, matmul4_reference(*matmul4_inputs(3)))
    with pytest.raises(SimError, match="has no QEMU machine"):
        run_qemu(build, board)
