"""Where the non-Python parts of mcuforge are: the C runtime, the jinja2 templates, the board
records and the QEMU plugin source. The one place every other module asks.

In the source tree they sit at the top level (runtime_c/, templates/, boards/,
tools/qemu_plugin/; the design card's layout). A wheel or sdist build copies them into the
package as toolchain/_data/ (setup.py's build hook), so an installed mcuforge finds them
through importlib.resources; a source checkout or an editable install, which has no _data,
uses the top-level folders.
"""

from __future__ import annotations

import json
import subprocess
from functools import lru_cache
from importlib import resources
from pathlib import Path

from toolchain.errors import McuforgeError

SOURCE_ROOT = Path(__file__).resolve().parents[1]
# packaged name -> where it is in the source tree
LAYOUT = {"runtime_c": "runtime_c", "templates": "templates", "boards": "boards",
          "qemu_plugin": "tools/qemu_plugin"}
BUILD_INFO = "build_info.json"  # written by setup.py's build hook: the commit built from


def data_dir(name: str) -> Path:
    """The folder `name` (a key of LAYOUT) of an installed package, else of the source tree."""
    packaged = resources.files("toolchain") / "_data" / name
    if packaged.is_dir():
        # wheels are installed unpacked, so this is a real folder the C compilers can read
        return Path(str(packaged))
    source = SOURCE_ROOT / LAYOUT[name]
    if source.is_dir():
        return source
    raise McuforgeError(f"mcuforge is installed without its {name}/ folder "
                        f"(neither {packaged} nor {source} exists): reinstall the package")


def _lazy(name: str) -> Path:
    try:
        return data_dir(name)
    except McuforgeError:
        # importing must not fail (e.g. `mcuforge --help`); a use of the path says what is wrong
        return SOURCE_ROOT / LAYOUT[name]


RUNTIME_DIR = _lazy("runtime_c")
TEMPLATES_DIR = _lazy("templates")
BOARDS_DIR = _lazy("boards")
QEMU_PLUGIN_DIR = _lazy("qemu_plugin")


@lru_cache(maxsize=None)
def git_commit() -> str | None:
    """The commit this mcuforge comes from: recorded at build time for an installed package,
    asked of git for a source checkout; None when neither knows."""
    info = resources.files("toolchain") / "_data" / BUILD_INFO
    if info.is_file():
        return json.loads(info.read_text()).get("commit") or None
    if not (SOURCE_ROOT / ".git").exists():
        return None
    try:
        out = subprocess.run(["git", "-C", str(SOURCE_ROOT), "rev-parse", "--short=12", "HEAD"],
                             capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    dirty = subprocess.run(["git", "-C", str(SOURCE_ROOT), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True, timeout=10).stdout.strip()
    return out.stdout.strip() + ("-dirty" if dirty else "")
