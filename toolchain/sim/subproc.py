"""The one place external tools are started: always with a timeout, always with a message
that names the tool, the purpose and the tail of its output when it fails."""

from __future__ import annotations

import shlex
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from toolchain.sim.errors import ToolError

OUTPUT_TAIL_LINES = 30


@dataclass(frozen=True)
class ToolRun:
    cmd: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


def run_tool(cmd: list[str] | tuple[str, ...], *, what: str, timeout: float,
             cwd: Path | None = None, check: bool = True, die_with_parent: bool = False) -> ToolRun:
    """Runs ``cmd``; raises ToolError if it is missing, times out, or (with check) fails.

    die_with_parent: the child gets SIGKILL when this process dies, even by SIGKILL (Linux
    PR_SET_PDEATHSIG), so a killed `mcuforge run` leaves no simulator behind. A SIGTERM or
    Ctrl-C raises in subprocess.run, which kills the child itself."""
    if shutil.which(cmd[0]) is None:
        raise ToolError(f"{what}: '{cmd[0]}' is not on PATH", internal=False)
    try:
        done = subprocess.run(list(cmd), cwd=cwd, capture_output=True, text=True,
                              errors="replace", stdin=subprocess.DEVNULL, timeout=timeout,
                              check=False, preexec_fn=_die_with_parent if die_with_parent else None)
    except subprocess.TimeoutExpired as exc:
        out = _text(exc.stdout) + _text(exc.stderr)
        raise ToolError(f"{what}: no result within {timeout:.0f} s; command: "
                        f"{format_cmd(cmd)}\n{tail(out)}") from exc
    run = ToolRun(tuple(cmd), done.returncode, done.stdout, done.stderr)
    if check and done.returncode != 0:
        raise ToolError(f"{what} failed (exit {done.returncode}); command: "
                        f"{format_cmd(cmd)}\n{tail(done.stderr or done.stdout)}")
    return run


def _die_with_parent() -> None:
    """Runs in the child between fork and exec."""
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def format_cmd(cmd: list[str] | tuple[str, ...]) -> str:
    return " ".join(shlex.quote(c) for c in cmd)


def tail(text: str, lines: int = OUTPUT_TAIL_LINES) -> str:
    kept = text.rstrip().splitlines()[-lines:]
    return "\n".join(kept)


def _text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return data if isinstance(data, str) else data.decode(errors="replace")
