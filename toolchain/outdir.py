"""Output folders: mcuforge writes only into folders it made (or that were empty), and says so
with a marker file, because writing the C replaces DIR/runtime wholesale.

claim(DIR) before writing: a missing or empty folder is created and marked; a folder holding
the marker is ours again; any other non-empty folder is refused unless ``force``. Even with
``force`` a folder we did not write is never emptied: if a sub-folder that the writer replaces
wholesale (``replaced``, e.g. "runtime") exists there, claim refuses, because replacing it
would delete the user's files.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from toolchain.errors import McuforgeError

MARKER = ".mcuforge-output"
_MARKER_TEXT = "This folder was written by mcuforge; it may replace anything in it.\n"


class OutputDirError(McuforgeError):
    pass


def owned(path: Path) -> bool:
    return (path / MARKER).is_file()


def claim(path: str | Path, force: bool = False, replaced: Iterable[str] = ("runtime",)) -> Path:
    """Makes ``path`` ready for mcuforge's output and marks it; raises OutputDirError if it
    is someone else's, or not writable."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise OutputDirError(f"output folder {p} exists and is not a folder")
    if p.is_dir() and not owned(p) and any(p.iterdir()):
        if not force:
            raise OutputDirError(f"output folder {p} is not empty and was not written by mcuforge "
                                 f"(no {MARKER} file); choose a new folder or pass --force to write into it")
        for sub in replaced:
            if (p / sub).exists():
                raise OutputDirError(f"output folder {p} already holds {sub}/, which mcuforge would replace; "
                                     f"even with --force it deletes nothing it did not write: choose a new folder")
    try:
        p.mkdir(parents=True, exist_ok=True)
        (p / MARKER).write_text(_MARKER_TEXT)
    except OSError as e:
        raise OutputDirError(f"cannot write to output folder {p}: {e.strerror or e}") from None
    return p
