"""The fixture model, cross-compiled for every simulated board, runs under QEMU with outputs
equal to numpy and an instruction count that is identical run to run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fixtures.sim_support import (
    MATMUL4, assert_outputs_close, matmul4_inputs, matmul4_reference, require_tools,
    simulated_boards,
)
from toolchain.boards import load_board
from toolchain.build import BuildResult, build_firmware
from toolchain.sim import RunError, ToolError, run_qemu

pytestmark = pytest.mark.qemu


@pytest.fixture(scope="module", params=simulated_boards())
def matmul_build(request: pytest.FixtureRequest,
                 tmp_path_factory: pytest.TempPathFactory) -> BuildResult:
    board = load_board(request.param)
    require_tools(board)
    out = tmp_path_factory.mktemp(f"fw_{board.name}")
    return build_firmware([MATMUL4 / "model.c"], board, out, matmul4_inputs())


def test_outputs_equal_numpy(matmul_build: BuildResult) -> None:
    result = run_qemu(matmul_build, matmul_build.board, timeout=60)
    assert result.status == 0 and result.exit_code == 0
    assert_outputs_close(result.outputs, matmul4_reference(*matmul4_inputs()))


def test_instruction_count_is_reproducible(matmul_build: BuildResult) -> None:
    first = run_qemu(matmul_build, matmul_build.board, timeout=60)
    second = run_qemu(matmul_build, matmul_build.board, timeout=60)
    assert first.instructions is not None and first.instructions > 0
    assert first.instructions == second.instructions


def test_flash_image_boot_matches_elf_boot(matmul_build: BuildResult) -> None:
    """Booting from the raw flash image (nothing preloaded in RAM, as on a programmed part)
    gives the same outputs and the same count as QEMU's ELF loader."""
    by_elf = run_qemu(matmul_build, matmul_build.board, timeout=60)
    by_image = run_qemu(matmul_build, matmul_build.board, timeout=60, load="flash-image")
    assert by_image.status == 0
    for a, b in zip(by_elf.outputs, by_image.outputs):
        np.testing.assert_array_equal(a, b)
    assert by_elf.instructions == by_image.instructions


def test_build_reports_memory(matmul_build: BuildResult) -> None:
    board = matmul_build.board
    assert matmul_build.arena_bytes == 160
    assert matmul_build.stack_reserved_bytes >= board.memory.stack_size
    assert 0 < matmul_build.flash_bytes <= board.memory.flash.size
    assert matmul_build.ram_bytes >= 160 + board.memory.stack_size
    assert matmul_build.ram_bytes <= board.memory.ram.size
    assert matmul_build.markers is not None
    assert matmul_build.markers.start % 2 == 0 and matmul_build.markers.stop % 2 == 0


def test_stack_is_measured(matmul_build: BuildResult) -> None:
    result = run_qemu(matmul_build, matmul_build.board, timeout=60, count_instructions=False)
    assert result.instructions is None
    assert result.stack_bytes is not None
    assert 0 < result.stack_bytes <= matmul_build.stack_reserved_bytes


def test_input_size_mismatch_is_reported(tmp_path: Path) -> None:
    board = load_board(simulated_boards()[0])
    require_tools(board)
    build = build_firmware([MATMUL4 / "model.c"], board, tmp_path,
                           [np.zeros(15, np.float32), np.zeros(4, np.float32)])
    result = run_qemu(build, board, timeout=60)
    assert result.status != 0 and result.outputs == [] and result.instructions is None
    assert "MF_ERROR input 0 size: test data has 15, model has 16" in result.log


@pytest.mark.parametrize("name", simulated_boards())
def test_crash_is_reported_with_the_faulting_function(name: str, tmp_path: Path) -> None:
    board = load_board(name)
    require_tools(board)
    build = build_firmware([MATMUL4 / "model.c"], board, tmp_path, matmul4_inputs(),
                           extra_cflags=["-DMF_FIXTURE_FAULT=0xF0000000u"])
    with pytest.raises(RunError, match=r"did not finish \(MF_FAULT .*\(mf_model_run\+0x"):
        run_qemu(build, board, timeout=60)


def test_hang_is_cut_by_the_timeout(tmp_path: Path) -> None:
    board = load_board(simulated_boards()[0])
    require_tools(board)
    build = build_firmware([MATMUL4 / "model.c"], board, tmp_path, matmul4_inputs(),
                           extra_cflags=["-DMF_FIXTURE_HANG"])
    with pytest.raises(ToolError, match=r"no result within 2 s(.|\n)*MF_BEGIN"):
        run_qemu(build, board, timeout=2)
