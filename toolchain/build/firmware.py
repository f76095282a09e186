"""Cross-compile a model plus the board harness into one firmware ELF.

``build_firmware`` renders the firmware main, the test inputs and (bare metal) the linker
script, compiles every source, links, and reads flash/RAM use back from the ELF. A firmware
that does not fit is refused with one line per region naming what takes the space.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import jinja2
import numpy as np

from toolchain.boards import Board, Region
from toolchain.build.compiler import CompilerSetup, compiler_setup
from toolchain.codegen.ctext import c_comment, c_string
from toolchain.sim.cluster import cluster_defines, resolve_harts
from toolchain.sim.elfinfo import ElfInfo, memory_use, read_elf
from toolchain.sim.errors import BudgetError, SimError, ToolError
from toolchain.sim.flashsplit import flash_split
from toolchain.build.harness import (
    HARNESS_DIR, STARTUPS, TEMPLATES_DIR, Layout, Target, harness_defines, harness_sources,
    layout,
)
from toolchain.sim.subproc import format_cmd, run_tool, tail

WORDS_PER_LINE = 8
EXIT_BAD_INPUT = 126       # firmware exit status when the test data do not match the model
ARENA_SYMBOL = "mf_fw_arena_bytes"
MARKER_START, MARKER_STOP = "mf_bench_start", "mf_bench_stop"
# measuring link for budget messages: regions large and apart, so nothing overflows/overlaps
_MEASURE_FLASH, _MEASURE_RAM = (0x00000000, 0x40000000), (0x40000000, 0x40000000)
_MEASURE_TESTDATA = (0x80000000, 0x10000000)
# GNU ld: "region `RAM' overflowed by 12 bytes"; lld: "will not fit in region 'RAM'"
_OVERFLOW_RE = re.compile(r"region [`']?(FLASH|RAM)'? overflowed|"
                          r"will not fit in region [`']?(FLASH|RAM)'?")


class SourceSetLike(Protocol):
    """What ``toolchain.api.write_sources`` returns; a plain list of paths also works."""

    c_files: Sequence[Path]
    include_dirs: Sequence[Path]


@dataclass(frozen=True)
class Markers:
    start: int    # instruction addresses (Thumb bit 0 cleared)
    stop: int


@dataclass(frozen=True)
class BuildResult:
    elf: Path
    board: Board
    target: Target
    layout: Layout
    flash_bytes: int                 # everything stored in flash, .data initial values too
    ram_bytes: int                   # .data + .bss (arena included) + reserved stack
    arena_bytes: int | None          # MF_MODEL_ARENA_BYTES as linked
    stack_reserved_bytes: int        # the .stack section; the run reports what was used
    flash_by_section: dict[str, int]
    ram_by_section: dict[str, int]
    markers: Markers | None
    commands: tuple[str, ...]        # compile and link command lines, for reports
    harts: int = 1                   # harts the firmware forks over (cluster boards)
    # flash by kind: code, weights (and their kernel-layout copies), scales, other constants, .data
    # initial values (sim/flashsplit.py)
    flash_split: dict[str, int] = field(default_factory=dict)


def build_firmware(sources: Sequence[Path | str] | SourceSetLike, board: Board,
                   out_dir: Path | str, inputs: Sequence[np.ndarray], *,
                   include_dirs: Sequence[Path | str] = (), target: Target = "qemu",
                   stack_size: int | None = None, extra_cflags: Sequence[str] = (),
                   werror: bool = True, timeout: float = 300.0,
                   main_template: str = "main.c.j2",
                   main_vars: Mapping[str, object] | None = None,
                   harts: int | None = None, delay_seed: int | None = None) -> BuildResult:
    """Builds ``out_dir/firmware.elf`` for ``board``.

    sources: the model's C files (or a SourceSet); their directories are include paths too.
    inputs: one array per model input, in order; cast to float32, passed bit-exactly.
    target: "qemu" (the simulated machine's memory map and UART) or "silicon".
    main_template, main_vars: another firmware main under templates/board/ and the extra
    values it renders with (the device protocol main of toolchain.device uses this).
    Raises BudgetError if the image does not fit, ToolError if a tool fails.
    """
    c_files, inc_dirs = _split_sources(sources, include_dirs)
    out = Path(out_dir).resolve()
    obj_dir = out / "obj"
    obj_dir.mkdir(parents=True, exist_ok=True)
    lay = layout(board, target)
    startup = STARTUPS[board.startup]
    stack = board.memory.stack_size if stack_size is None else stack_size
    harts = resolve_harts(board, harts)

    env = _jinja_env()
    (out / "main.c").write_text(env.get_template(main_template).render(
        board_name=c_comment(board.name), board_name_str=c_string(board.name), words_per_line=WORDS_PER_LINE, exit_bad_input=EXIT_BAD_INPUT,
        **(main_vars or {})))
    testdata = _testdata_region(board, target)
    (out / "test_input.c").write_text(env.get_template("test_input.c.j2").render(
        inputs=[_input_view(x, i) for i, x in enumerate(inputs)], testdata_section=testdata is not None))

    setup = compiler_setup(board, werror=werror)
    cflags = [*setup.cflags, *harness_defines(lay), *cluster_defines(board, harts, stack, delay_seed),
              *extra_cflags,
              f"-I{HARNESS_DIR}", *(f"-I{d}" for d in inc_dirs)]
    all_sources = [*c_files, out / "main.c", out / "test_input.c",
                   *harness_sources(board, lay)]
    # numbered objects: kernels of different ISAs may share a file name (ref/gemm.c, rvv/gemm.c)
    compile_cmds = [[setup.cc, *cflags, "-c", str(src), "-o",
                     str(obj_dir / f"{i:03d}_{src.stem}.o")] for i, src in enumerate(all_sources)]
    _compile_all(compile_cmds, board, timeout)
    objects = [cmd[-1] for cmd in compile_cmds]

    elf = out / "firmware.elf"
    script = None
    if startup.linker_script:
        script = out / "linker.ld"
        script.write_text(_linker_script(env, board, lay.flash_origin, board.memory.flash.size,
                                         lay.ram_origin, board.memory.ram.size, stack, testdata))
    link_cmd = _link_command(setup, objects, script, elf, out / "firmware.map")
    link = run_tool(link_cmd, what=f"linking firmware for {board.name}", timeout=timeout,
                    check=False)
    if link.returncode != 0:
        if _OVERFLOW_RE.search(link.stderr) and startup.linker_script:
            raise _budget_error(board, env, setup, objects, out, stack, timeout,
                                None if testdata is None else _MEASURE_TESTDATA)
        raise ToolError(f"linking firmware for {board.name} failed; command: "
                        f"{format_cmd(link_cmd)}\n{tail(link.stderr or link.stdout)}")

    info = read_elf(elf)
    if startup.linker_script:
        use = memory_use(info, Region(lay.flash_origin, board.memory.flash.size),
                         Region(lay.ram_origin, board.memory.ram.size))
    else:
        use = memory_use(info, None, None)
    stack_section = use.ram_by_section.get(".stack", 0)
    return BuildResult(elf=elf, board=board, target=target, layout=lay,
                       flash_bytes=use.flash_bytes, ram_bytes=use.ram_bytes,
                       arena_bytes=info.read_u32(ARENA_SYMBOL),
                       stack_reserved_bytes=stack_section,
                       flash_by_section=use.flash_by_section, ram_by_section=use.ram_by_section,
                       markers=find_markers(info),
                       commands=tuple(format_cmd(c) for c in [*compile_cmds, link_cmd]), harts=harts,
                       flash_split=flash_split(info, use))


# ---- steps ----------------------------------------------------------------------------------

def _split_sources(sources: Sequence[Path | str] | SourceSetLike,
                   include_dirs: Sequence[Path | str]) -> tuple[list[Path], list[Path]]:
    if hasattr(sources, "c_files"):
        files = [Path(p).resolve() for p in sources.c_files]  # type: ignore[union-attr]
        incs = [Path(p).resolve() for p in sources.include_dirs]  # type: ignore[union-attr]
    else:
        files = [Path(p).resolve() for p in sources]  # type: ignore[union-attr]
        incs = []
    for f in files:
        if not f.is_file():
            raise SimError(f"source file {f} does not exist")
    # a model's headers sit next to its sources (model.h beside model.c)
    for d in [*(Path(p).resolve() for p in include_dirs), *incs, *(f.parent for f in files)]:
        if d not in incs:
            incs.append(d)
    return files, incs


def _jinja_env() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
                              undefined=jinja2.StrictUndefined, trim_blocks=True,
                              lstrip_blocks=True, keep_trailing_newline=True)


@dataclass(frozen=True)
class _InputView:
    """One input as the test_input template wants it: prepared, no arithmetic left."""

    shape: str
    count: int
    rows: list[list[str]]


def _input_view(x: np.ndarray, index: int) -> _InputView:
    arr = np.asarray(x)
    if arr.size == 0:
        raise SimError(f"input {index} is empty (shape {arr.shape})")
    words = np.ascontiguousarray(arr, dtype=np.float32).reshape(-1).view(np.uint32)
    hexes = [f"0x{int(w):08x}u" for w in words]
    rows = [hexes[i:i + WORDS_PER_LINE] for i in range(0, len(hexes), WORDS_PER_LINE)]
    return _InputView(shape="x".join(str(d) for d in arr.shape) or "scalar", count=len(hexes),
                      rows=rows)


def _testdata_region(board: Board, target: Target) -> tuple[int, int] | None:
    q = board.qemu
    if target != "qemu" or q is None or q.testdata_origin is None or not q.testdata_size:
        return None
    return q.testdata_origin, q.testdata_size


def _linker_script(env: jinja2.Environment, board: Board, flash_origin: int, flash_size: int,
                   ram_origin: int, ram_size: int, stack_size: int,
                   testdata: tuple[int, int] | None = None) -> str:
    entry = STARTUPS[board.startup].entry_symbol
    assert entry is not None, "only bare-metal start-ups get a linker script"
    return env.get_template("linker.ld.j2").render(
        board_name=c_comment(board.name), flash_origin=f"{flash_origin:#010x}", flash_size=flash_size,
        ram_origin=f"{ram_origin:#010x}", ram_size=ram_size, stack_size=stack_size,
        entry_symbol=entry, testdata_origin=f"{testdata[0]:#010x}" if testdata else "",
        testdata_size=testdata[1] if testdata else 0)


def _link_command(setup: CompilerSetup, objects: list[str], script: Path | None, elf: Path,
                  map_file: Path | None) -> list[str]:
    cmd = [setup.cc, *setup.cflags, *setup.ldflags]
    if script is not None:
        cmd.append(f"-T{script}")
    if map_file is not None:
        cmd.append(f"-Wl,-Map={map_file}")
    return [*cmd, *objects, *setup.libs, "-o", str(elf)]


def _compile_all(cmds: list[list[str]], board: Board, timeout: float) -> None:
    def one(cmd: list[str]) -> None:
        src = cmd[cmd.index("-c") + 1]
        run_tool(cmd, what=f"compiling {Path(src).name} for {board.name}", timeout=timeout)

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        for fut in [pool.submit(one, c) for c in cmds]:
            fut.result()  # re-raises the first ToolError


def find_markers(info: ElfInfo) -> Markers | None:
    start, stop = info.symbol(MARKER_START), info.symbol(MARKER_STOP)
    if start is None or stop is None:
        return None
    # Thumb function symbols have bit 0 set; instruction addresses never do (RISC-V
    # instructions are 2-byte aligned, so clearing it is a no-op there)
    return Markers(start=start.value & ~1, stop=stop.value & ~1)


def _budget_error(board: Board, env: jinja2.Environment, setup: CompilerSetup,
                  objects: list[str], out: Path, stack: int, timeout: float,
                  testdata: tuple[int, int] | None = None) -> BudgetError:
    """Relinks with roomy regions to measure what the firmware needs, then words the error."""
    script = out / "linker_measure.ld"
    script.write_text(_linker_script(env, board, _MEASURE_FLASH[0], _MEASURE_FLASH[1],
                                     _MEASURE_RAM[0], _MEASURE_RAM[1], stack, testdata))
    elf = out / "firmware_measure.elf"
    run_tool(_link_command(setup, objects, script, elf, None),
             what=f"measuring the oversized firmware for {board.name}", timeout=timeout)
    info = read_elf(elf)
    use = memory_use(info, Region(*_MEASURE_FLASH), Region(*_MEASURE_RAM))
    arena = info.read_u32(ARENA_SYMBOL) or 0
    stack_bytes = use.ram_by_section.get(".stack", 0)
    code = sum(s.size for s in info.sections if s.executable and not s.nobits)
    data_init = sum(s.size for s in info.sections if s.writable and not s.nobits)
    # the seeded test input sits in flash when the simulator has no region for it: it is not
    # the model's, so it is named apart from the weights
    test_input = 0 if testdata is not None else sum(
        s.size for name, s in info.symbols.items() if re.fullmatch(r"mf_test_input_\d+", name))
    breakdown = {
        "RAM": {"arena": arena, "stack": stack_bytes,
                "other static data": use.ram_bytes - arena - stack_bytes},
        "FLASH": {"code": code, "constants and weights": use.flash_bytes - code - data_init - test_input,
                  "initial values of .data": data_init},
    }
    if test_input:
        breakdown["FLASH"]["baked-in test input"] = test_input
    needed = {"RAM": use.ram_bytes, "FLASH": use.flash_bytes}
    available = {"RAM": board.memory.ram.size, "FLASH": board.memory.flash.size}
    lines = []
    for reg, word in (("RAM", "RAM"), ("FLASH", "flash")):
        if needed[reg] > available[reg]:
            parts = ", ".join(f"{k} {v}" for k, v in breakdown[reg].items())
            lines.append(f"model needs {needed[reg]} bytes of {word} ({parts}) but "
                         f"{board.name} has {available[reg]}")
    if not lines:  # alignment padding can tip the real link over: say so rather than nothing
        lines.append(f"firmware does not fit {board.name}: RAM {needed['RAM']}/"
                     f"{available['RAM']}, flash {needed['FLASH']}/{available['FLASH']} bytes")
    return BudgetError("\n".join(lines), needed, available, breakdown)
