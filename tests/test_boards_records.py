"""Board records: every TOML loads into a typed Board, malformed records fail clearly, and
no code branches on a board's name."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from toolchain.boards import BOARDS_DIR, Board, BoardError, list_boards, load_board

pytestmark = pytest.mark.host

REPO = Path(__file__).resolve().parents[1]
EXPECTED_BOARDS = {"stm32f746-disco", "stm32f405-netduinoplus2", "cortex-m55-an547",
                   "rv32-rvv", "host"}


def test_all_expected_boards_exist() -> None:
    assert EXPECTED_BOARDS <= set(list_boards())


@pytest.mark.parametrize("name", list_boards())
def test_board_loads_and_is_consistent(name: str) -> None:
    board = load_board(name)
    assert isinstance(board, Board)
    assert board.name == name
    mem = board.memory
    assert mem.ram.size > 0 and mem.flash.size > 0
    assert 0 < mem.stack_size < mem.ram.size
    if board.bare_metal:
        # flash and RAM must not overlap, or the linker script would be meaningless
        assert mem.flash.end <= mem.ram.origin or mem.ram.end <= mem.flash.origin
    if board.core.simd == "rvv":
        assert board.core.vlen_bits is not None and board.core.fp16_arith


def test_board_is_frozen() -> None:
    board = load_board("host")
    with pytest.raises(AttributeError):
        board.name = "other"  # type: ignore[misc]


def test_real_memory_limits_are_enforced_values() -> None:
    # the sizes of the real parts, whatever QEMU maps
    assert load_board("stm32f746-disco").memory.ram.size == 320 * 1024
    assert load_board("stm32f746-disco").memory.flash.size == 1024 * 1024
    assert load_board("stm32f405-netduinoplus2").memory.ram.size == 128 * 1024
    assert load_board("stm32f405-netduinoplus2").memory.flash.origin == 0x08000000


def test_unknown_board_lists_known_ones() -> None:
    with pytest.raises(BoardError, match="unknown board 'nope'.*stm32f746-disco"):
        load_board("nope")


def _write(tmp_path: Path, name: str, text: str) -> Path:
    (tmp_path / f"{name}.toml").write_text(text)
    return tmp_path


def _minimal(name: str = "b", extra_core: str = "", extra_top: str = "") -> str:
    return f"""
name = "{name}"
startup = "hosted"
{extra_top}
[core]
name = "x"
arch = "y"
has_fpu = true
{extra_core}
[memory]
flash_origin = 0
flash_size = 1024
ram_origin = 4096
ram_size = 1024
stack_size = 256
[toolchain]
cc = "gcc"
[uart]
kind = "stdio"
[exit]
method = "hosted"
"""


def test_minimal_record_loads(tmp_path: Path) -> None:
    board = load_board("b", _write(tmp_path, "b", _minimal()))
    assert board.qemu is None and board.renode is None and board.core.simd == "none"


@pytest.mark.parametrize("text, message", [
    (_minimal(extra_core='simd = "avx"'), "simd.*not one of none, mve, rvv"),
    (_minimal(extra_core="has_fpux = 1"), "unknown field.*has_fpux"),
    (_minimal(extra_core='simd = "rvv"'), "vlen_bits is required"),
    (_minimal(extra_top='description = 3'), "description.*should be a string"),
    (_minimal(name="other"), "does not match the file name"),
    (_minimal().replace("stack_size = 256", ""), "missing field 'stack_size'"),
    (_minimal().replace('kind = "stdio"', 'kind = "cmsdk"'), "needs a base address"),
    (_minimal().replace("[exit]", "[exit"), "invalid TOML"),
])
def test_malformed_records_fail_clearly(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(BoardError, match=message):
        load_board("b", _write(tmp_path, "b", text))


def test_code_never_branches_on_board_names() -> None:
    """Boards are data: no board name may appear in the Python or C that uses boards."""
    names = [n for n in list_boards()]
    # as string literals: that is how a name would be branched on (and "host" is a word)
    pattern = re.compile("|".join(f"[\"']{re.escape(n)}[\"']" for n in names))
    places = [REPO / "toolchain" / "boards", REPO / "toolchain" / "sim",
              REPO / "runtime_c" / "board", REPO / "templates" / "board"]
    offenders = []
    for place in places:
        for path in place.rglob("*"):
            if path.is_file() and path.suffix in (".py", ".c", ".h", ".S", ".j2"):
                for lineno, line in enumerate(path.read_text().splitlines(), 1):
                    if pattern.search(line):
                        offenders.append(f"{path.relative_to(REPO)}:{lineno}: {line.strip()}")
    assert not offenders, "board names in code:\n" + "\n".join(offenders)


def test_boards_dir_is_the_repository_one() -> None:
    assert BOARDS_DIR == REPO / "boards"
