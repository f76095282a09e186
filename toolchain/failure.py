"""How the CLI ends when something goes wrong: one line on stderr, and an exit status that
says whose fault it was.

- A user mistake (McuforgeError, a file that cannot be read or written, a model too large
  for this machine's memory): ``error: ...``, exit 2.
- A failure of mcuforge itself (a compiler rejecting generated C, a firmware crash, any
  other exception): ``internal error: ...; full log in PATH``, exit 3. The log keeps the
  whole compiler output or traceback, which does not belong on the terminal.
- SIGTERM / SIGINT: ``error: interrupted by SIGTERM``, exit 128 + signal. The handler
  raises, so subprocess.run kills the simulator it waits for and every TemporaryDirectory
  is removed on the way out.

Every line passes through safe_terminal(): names from a model never reach the terminal as
control sequences.
"""

from __future__ import annotations

import os
import signal
import sys
import tempfile
import time
import traceback

from toolchain.codegen.ctext import safe_terminal
from toolchain.errors import McuforgeError

USER_ERROR = 2
INTERNAL_ERROR = 3


class Terminated(BaseException):
    """Raised by the SIGTERM handler; BaseException so that no `except Exception` eats it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def install_signal_handlers() -> None:
    def handler(signum: int, _frame: object) -> None:
        raise Terminated(signum)

    signal.signal(signal.SIGTERM, handler)


def _first_line(text: str, limit: int = 400) -> str:
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return line if len(line) <= limit else line[:limit] + "..."


def write_log(text: str) -> str:
    fd, path = tempfile.mkstemp(prefix=f"mcuforge-error-{time.strftime('%Y%m%d-%H%M%S')}-", suffix=".log")
    with os.fdopen(fd, "w", errors="replace") as f:
        f.write(text)
    return path


def is_internal(e: BaseException) -> bool:
    if isinstance(e, McuforgeError):
        return bool(getattr(e, "internal", False))
    if isinstance(e, (OSError, MemoryError)):
        return False  # unreadable/unwritable paths, a model too large for this machine
    return True


def report(e: BaseException, echo=None) -> int:
    """Prints the one line for ``e`` and returns the exit status."""
    out = echo or (lambda s: print(s, file=sys.stderr))
    if isinstance(e, KeyboardInterrupt):
        out("error: interrupted (SIGINT)")
        return 128 + signal.SIGINT
    if isinstance(e, Terminated):
        out(f"error: interrupted by {signal.Signals(e.signum).name}")
        return 128 + e.signum
    if isinstance(e, BrokenPipeError):  # `mcuforge boards | head`: the reader left, nothing to say
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 128 + signal.SIGPIPE
    if isinstance(e, MemoryError):
        out("error: out of memory (the model's tensors are too large for this machine)")
        return USER_ERROR
    msg = str(e) if isinstance(e, McuforgeError) else f"{type(e).__name__}: {e}"
    if not is_internal(e):
        if isinstance(e, OSError) and e.filename is not None:
            msg = f"{e.filename}: {e.strerror or e}"
        lines = [ln.strip() for ln in msg.splitlines() if ln.strip()]
        out("error: " + safe_terminal("; ".join(lines)[:1000] or type(e).__name__))
        return USER_ERROR
    log = "".join(traceback.format_exception(type(e), e, e.__traceback__))
    path = write_log(f"{msg}\n\n{log}")
    out(f"internal error: {safe_terminal(_first_line(msg))}; full log in {path}")
    return INTERNAL_ERROR
