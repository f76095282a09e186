"""Long commands show progress on a terminal and nothing when stderr is not one (CI logs,
--json consumers). Issue 16, part 4."""

from __future__ import annotations

import os
import pty
import subprocess
import sys

SNIPPET = """
import time
from toolchain.progress import Bar, spinner
with spinner("compiling the model"):
    time.sleep(1.2)
with Bar(3, "regress") as bar:
    for k in ("a@b", "c@d", "e@f"):
        bar.update(1, k)
print("done")
"""


def _run(stderr_tty: bool) -> tuple[str, str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    if not stderr_tty:
        r = subprocess.run([sys.executable, "-c", SNIPPET], capture_output=True, text=True, timeout=60, env=env)
        assert r.returncode == 0, r.stderr
        return r.stdout, r.stderr
    master, slave = pty.openpty()
    p = subprocess.Popen([sys.executable, "-c", SNIPPET], stdout=subprocess.PIPE, stderr=slave, env=env)
    os.close(slave)
    err = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        err += chunk
    out, _ = p.communicate(timeout=60)
    os.close(master)
    assert p.returncode == 0
    return out.decode(), err.decode(errors="replace")


def test_progress_on_a_terminal() -> None:
    out, err = _run(stderr_tty=True)
    assert out.strip() == "done"
    assert "compiling the model: 00:0" in err
    assert "regress:" in err and "/3" in err


def test_no_progress_when_not_a_terminal() -> None:
    out, err = _run(stderr_tty=False)
    assert out.strip() == "done" and err == ""
