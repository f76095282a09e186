"""Progress for long commands (regress, nas, train, run of a large model), on stderr and only
when stderr is a terminal: piped or captured output (CI logs, --json consumers) stays clean."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")


def interactive() -> bool:
    return sys.stderr.isatty()


def _size() -> dict[str, int]:
    """{} (tqdm sizes itself) unless the terminal reports no size, as a fresh pseudo-terminal
    does: tqdm would then hide every bar (0 rows) and draw nothing."""
    try:
        size = os.get_terminal_size(sys.stderr.fileno())
        if size.columns > 0 and size.lines > 0:
            return {}
    except (OSError, ValueError):
        pass
    return {"ncols": 80, "nrows": 24}


@contextmanager
def spinner(desc: str, interval: float = 0.5) -> Iterator[None]:
    """'desc: 00:12' ticking on stderr while the body runs (it has no count to show)."""
    if not interactive():
        yield
        return
    from tqdm import tqdm

    bar = tqdm(total=None, desc=desc, bar_format="{desc}: {elapsed}", file=sys.stderr, leave=False,
               **_size())
    done = threading.Event()

    def tick() -> None:
        while not done.wait(interval):
            bar.refresh()

    t = threading.Thread(target=tick, daemon=True)
    t.start()
    try:
        yield
    finally:
        done.set()
        t.join()
        bar.close()


def progress(items: Iterable[T], desc: str, total: int | None = None) -> Iterable[T]:
    """items, with a tqdm bar on stderr when it is a terminal."""
    if not interactive():
        return items
    from tqdm import tqdm

    return tqdm(items, desc=desc, total=total, file=sys.stderr, leave=False, **_size())


class Bar:
    """A counted bar for loops that report as they go (update(n, label)); silent off a TTY."""

    def __init__(self, total: int | None, desc: str) -> None:
        self._bar = None
        if interactive():
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=desc, file=sys.stderr, leave=False, **_size())

    def update(self, n: int = 1, label: str = "") -> None:
        if self._bar is not None:
            if label:
                self._bar.set_postfix_str(label, refresh=False)
            self._bar.update(n)

    def __enter__(self) -> "Bar":
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.close()
