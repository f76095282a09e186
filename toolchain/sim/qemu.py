"""Run firmware under QEMU (or natively for the host board) and read its results back.

The instruction count comes from the mf_icount plugin: instructions executed between the
firmware's mf_bench_start and mf_bench_stop markers. It is a proxy for cycles, not cycles,
and it is exactly reproducible, which wall time in an emulator is not.
"""

from __future__ import annotations

import re
import signal
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from toolchain.boards import Board, Region
from toolchain.sim.cluster import ClusterCounts, read_cluster_counts
from toolchain.sim.cluster import plugin_args as cluster_plugin_args
from toolchain.sim.elfinfo import flash_image, read_elf, symbolize
from toolchain.sim.errors import RunError, SimError
from toolchain.build.firmware import BuildResult, Markers, find_markers
from toolchain.sim.plugin import plugin_path
from toolchain.sim.subproc import format_cmd, run_tool, tail
from toolchain.sim.uart_log import parse_uart_log

Load = Literal["elf", "flash-image"]

# exit method -> QEMU arguments it needs
EXIT_ARGS: dict[str, tuple[str, ...]] = {
    "semihosting": ("-semihosting-config", "enable=on,target=native"),
    "sifive_test": (),
}


@dataclass(frozen=True)
class RunResult:
    outputs: list[np.ndarray]        # float32, one flat array per model output
    status: int                      # mf_model_run's return value, from MF_DONE
    exit_code: int                   # the simulator's (or process's) exit status
    instructions: int | None         # between the markers; None when not counted/reached
    weighted_instructions: int | None  # RVV LMUL-weighted count, when asked for
    stack_bytes: int | None          # painted stack measured at the end of the run
    log: str                         # everything the firmware printed
    command: str
    profile: NodeCounts | None = None  # per-node checkpoints, when run with profile=True
    cluster: ClusterCounts | None = None  # per-hart counts and span, on a cluster build


@dataclass(frozen=True)
class NodeCounts:
    """What the plugin saw of the per-node markers (see tools/qemu_plugin/mf_icount.c).

    checkpoints[k] = (instructions, vector extra) counted in the window when the marker before
    node k was entered; the stop marker closes the last node. marker_instructions: executed
    inside the marker function itself, over all calls."""

    checkpoints: tuple[tuple[int, int], ...]
    marker_instructions: int
    end: tuple[int, int]             # (instructions, vector extra) at the stop marker


def run_firmware(build: BuildResult, timeout: float = 60.0, **kwargs: object) -> RunResult:
    """Runs a build where its board runs: QEMU when it has a machine, else natively."""
    if build.board.qemu is not None:
        return run_qemu(build, build.board, timeout, **kwargs)  # type: ignore[arg-type]
    if not build.board.bare_metal:
        return run_host(build.elf, timeout)
    raise SimError(f"board {build.board.name} has no simulator: flash it (mcuforge flash)")


def qemu_command(elf: Path, board: Board, *, load: Load = "elf", image: Path | None = None,
                 plugin_args: str | None = None, testdata: Path | None = None,
                 harts: int = 1) -> list[str]:
    if board.qemu is None:
        raise SimError(f"board {board.name} has no QEMU machine")
    q = board.qemu
    cmd = [q.system, "-M", q.machine]
    if q.cpu is not None:
        cmd += ["-cpu", q.cpu]
    if harts > 1:
        cmd += ["-smp", str(harts)]
    # -nographic puts serial0 (the console UART) on stdout; no monitor to mix in
    cmd += [*q.extra_args, "-nographic", "-monitor", "none", *EXIT_ARGS.get(board.exit.method, ())]
    if load == "elf":
        cmd += ["-kernel", str(elf)]
    else:
        assert image is not None
        # raw flash contents at the flash origin, nothing in RAM: what a programmed part
        # holds at reset, so start-up code must do all of the RAM set-up itself
        cmd += ["-device", f"loader,file={image},addr={board.memory.flash.origin:#x}"]
        if testdata is not None and q.testdata_origin is not None:
            # the simulator-only test inputs: not part of what a programmer writes to flash
            cmd += ["-device", f"loader,file={testdata},addr={q.testdata_origin:#x}"]
    if plugin_args is not None:
        cmd += ["-plugin", plugin_args]
    return cmd


def run_qemu(elf: Path | BuildResult, board: Board, timeout: float = 60.0, *,
             count_instructions: bool = True, lmul_weighting: bool = False,
             load: Load = "elf", profile: bool = False) -> RunResult:
    """Runs firmware under the board's QEMU machine.

    load: "elf" lets QEMU's loader place every segment at its load address; "flash-image"
    loads only the raw flash image (see qemu_command).
    lmul_weighting: RVV only, also count each vector instruction LMUL times (slower).
    profile: also record the count at each entry of the per-node marker (mf_profile_node,
    present when the model was built with -DMF_PROFILE); RunResult.profile holds them (on a
    cluster board, the span so far: per node, the critical path of its regions and serial part).
    Raises ToolError if QEMU fails or hangs, RunError if the firmware's output is unusable.
    """
    harts = 1
    if isinstance(elf, BuildResult):
        if elf.target != "qemu":
            raise SimError(f"{elf.elf} was built for {elf.target}, not for QEMU")
        elf_path, markers, harts = elf.elf, elf.markers, elf.harts
    else:
        elf_path, markers = Path(elf), find_markers(read_elf(Path(elf)))
    if board.qemu is None:
        raise SimError(f"board {board.name} has no QEMU machine")

    with tempfile.TemporaryDirectory(prefix="mf_qemu_") as tmp:
        image = testdata = None
        if load == "flash-image":
            info = read_elf(elf_path)
            image = Path(tmp) / "flash.bin"
            image.write_bytes(flash_image(info, board.memory.flash))
            q = board.qemu
            if q.testdata_origin is not None and q.testdata_size:
                region = Region(q.testdata_origin, q.testdata_size)
                if any(s.filesz and region.contains(s.paddr) for s in info.segments):
                    testdata = Path(tmp) / "testdata.bin"
                    testdata.write_bytes(flash_image(info, region))
        count_file = Path(tmp) / "icount.txt"
        plugin_args = None
        if count_instructions:
            if markers is None:
                raise SimError(f"{elf_path} has no mf_bench_start/mf_bench_stop markers")
            plugin_args = _plugin_args(markers, count_file, lmul_weighting)
            if profile:
                plugin_args += _profile_args(elf_path)
            if board.cluster is not None:
                plugin_args += cluster_plugin_args(elf_path, harts)
        cmd = qemu_command(elf_path, board, load=load, image=image, plugin_args=plugin_args, testdata=testdata,
                           harts=harts)
        run = run_tool(cmd, what=f"running {elf_path.name} on QEMU {board.qemu.machine}",
                       timeout=timeout, check=False, die_with_parent=True)
        counts, checkpoints, hart_rows = _read_counts(count_file) if count_instructions else ({}, [], [])

    log = run.stdout.replace("\r", "")
    # killed from outside: say so, not "garbled output" (QEMU catches SIGTERM/SIGINT/SIGHUP and
    # exits normally, saying "terminating on signal N")
    killed = re.search(r"terminating on signal (\d+)", run.stderr)
    if run.returncode < 0 or killed:
        signum = -run.returncode if run.returncode < 0 else int(killed.group(1))
        raise SimError(f"the simulator {board.qemu.system} was killed by "
                       f"{signal.Signals(signum).name} before the firmware on {board.name} finished")
    parsed = parse_uart_log(log)
    if parsed.status is None:
        problems = "; ".join(_symbolized(p, elf_path) for p in parsed.problems)
        problems = problems or "no MF_DONE line"
        raise RunError(f"firmware on {board.name} did not finish ({problems}); QEMU exit "
                       f"{run.returncode}; command: {format_cmd(cmd)}\nlast output:\n"
                       f"{tail(log, 15)}\n{tail(run.stderr, 10)}")
    instructions = weighted = None
    node_counts = cluster = None
    if count_instructions:
        instructions, weighted = _check_counts(counts, lmul_weighting, board)
        if board.cluster is not None and instructions is not None:
            cluster = read_cluster_counts(counts, hart_rows)
        if profile:
            if counts.get("checkpoints_lost"):
                raise RunError(f"the profiling plugin ran out of memory on {board.name}")
            # on a cluster the checkpoints are the span so far (the plugin's cluster mode):
            # a node's cost is then its span, its regions' largest shares plus its serial part
            span = board.cluster is not None
            end = ((counts["span"], counts["weighted_span"] - counts["span"]) if span
                   else (counts["insns"], counts["weighted_insns"] - counts["insns"]))
            node_counts = NodeCounts(tuple(checkpoints), counts.get("marker_insns", 0), end)
    return RunResult(outputs=parsed.outputs, status=parsed.status, exit_code=run.returncode,
                     instructions=instructions, weighted_instructions=weighted,
                     stack_bytes=parsed.stack_bytes, log=log, command=format_cmd(cmd),
                     profile=node_counts, cluster=cluster)


def run_host(exe: Path, timeout: float = 60.0) -> RunResult:
    """Runs a host-board build natively: same output protocol, no instruction count."""
    run = run_tool([str(exe)], what=f"running {exe.name} on the host", timeout=timeout,
                   check=False)
    parsed = parse_uart_log(run.stdout)
    if parsed.status is None:
        raise RunError(f"{exe} did not finish (exit {run.returncode}): {tail(run.stdout, 15)}"
                       f"\n{tail(run.stderr, 10)}")
    return RunResult(outputs=parsed.outputs, status=parsed.status, exit_code=run.returncode,
                     instructions=None, weighted_instructions=None, stack_bytes=None,
                     log=run.stdout, command=str(exe))


_ADDRESS_RE = re.compile(r"\b(pc|lr|mepc)=([0-9a-f]{8})\b")


def _symbolized(problem: str, elf: Path) -> str:
    """Adds the function name after each code address of an MF_FAULT line."""
    info = read_elf(elf)

    def named(m: re.Match[str]) -> str:
        where = symbolize(info, int(m.group(2), 16) & ~1)
        return f"{m.group(0)} ({where})" if where else m.group(0)

    return _ADDRESS_RE.sub(named, problem)


def _plugin_args(markers: Markers, out: Path, lmul_weighting: bool) -> str:
    args = f"{plugin_path()},start={markers.start:#x},stop={markers.stop:#x},out={out}"
    return args + (",lmul=on" if lmul_weighting else "")


PROFILE_MARKER = "mf_profile_node"


def _profile_args(elf: Path) -> str:
    sym = read_elf(elf).symbol(PROFILE_MARKER)
    if sym is None or not sym.size:
        raise SimError(f"{elf} has no {PROFILE_MARKER} marker to profile with")
    start = sym.value & ~1  # Thumb bit
    return f",node={start:#x},node_end={start + sym.size:#x}"


def _read_counts(path: Path) -> tuple[dict[str, int], list[tuple[int, int]], list[tuple[int, int, int, int]]]:
    """key=value lines, then (with node=) one 'node <count> <vector extra>' line per checkpoint,
    or (cluster mode) one 'hart <k> <work> <weighted work> <sync>' line per hart."""
    if not path.is_file():
        return {}, [], []
    counts: dict[str, int] = {}
    checkpoints: list[tuple[int, int]] = []
    harts: list[tuple[int, int, int, int]] = []
    for line in path.read_text().splitlines():
        if line.startswith("hart "):
            _, k, work, weighted, sync = line.split()
            harts.append((int(k), int(work), int(weighted), int(sync)))
            continue
        if line.startswith("node "):
            _, count, extra = line.split()
            checkpoints.append((int(count), int(extra)))
            continue
        key, _, value = line.partition("=")
        counts[key.strip()] = int(value)
    return counts, checkpoints, harts


def _check_counts(counts: dict[str, int], lmul_weighting: bool,
                  board: Board) -> tuple[int | None, int | None]:
    """(instructions, weighted) summed over start/stop pairs; None when the firmware never
    reached the benchmark (e.g. it refused its inputs)."""
    if not counts:
        raise RunError(f"the instruction-counting plugin wrote no result on {board.name} "
                       "(did QEMU exit through its normal path?)")
    if counts["open_window"] or counts["unmatched_stops"]:
        raise RunError(f"benchmark markers on {board.name} were not hit in start/stop "
                       f"order: {counts}")
    if counts["pairs"] == 0:
        return None, None
    weighted = counts["weighted_insns"] if lmul_weighting and counts["lmul_weighting"] else None
    return counts["insns"], weighted
