"""Build hook: ship the top-level runtime_c/, templates/, boards/ and tools/qemu_plugin/ inside
the package as toolchain/_data/ (found at run time by toolchain/resources.py), and record the
git commit built from. All other metadata is in pyproject.toml.

The folders stay at the top level of the source tree (the design card's layout); MANIFEST.in
puts them in the sdist, so a wheel built from the sdist gets them too."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

HERE = Path(__file__).resolve().parent
# packaged name -> source folder; keep in step with toolchain/resources.py's LAYOUT
DATA = {"runtime_c": "runtime_c", "templates": "templates", "boards": "boards",
        "qemu_plugin": "tools/qemu_plugin"}
SKIP = shutil.ignore_patterns("__pycache__", "*.o", "*.so", "*.elf", "*.pyc")


def _commit() -> str | None:
    """The commit of a git checkout; an sdist keeps the one it was made from (PKG-COMMIT)."""
    stored = HERE / "PKG-COMMIT"
    if stored.is_file():
        return stored.read_text().strip() or None
    try:
        out = subprocess.run(["git", "-C", str(HERE), "rev-parse", "--short=12", "HEAD"],
                             capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


class build_py_with_data(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the source tree's folders directly
        dest = Path(self.build_lib) / "toolchain" / "_data"
        for name, src in DATA.items():
            if (dest / name).exists():
                shutil.rmtree(dest / name)
            shutil.copytree(HERE / src, dest / name, ignore=SKIP)
        (dest / "build_info.json").write_text(json.dumps({"commit": _commit()}))


class sdist_with_commit(sdist):
    def make_release_tree(self, base_dir: str, files: list[str]) -> None:
        super().make_release_tree(base_dir, files)
        (Path(base_dir) / "PKG-COMMIT").write_text((_commit() or "") + "\n")


setup(cmdclass={"build_py": build_py_with_data, "sdist": sdist_with_commit})
