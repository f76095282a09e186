"""Builds the instruction-counting QEMU plugin (tools/qemu_plugin/) on first use.

The shared object goes to a cache directory named after a hash of the plugin's sources and
the build command, so editing the C (or changing compiler) rebuilds it and nothing stale is
ever loaded. Concurrent builders (pytest -n) each write a private file and rename it into
place, which is atomic.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from toolchain.resources import QEMU_PLUGIN_DIR
from toolchain.sim.subproc import run_tool

PLUGIN_DIR = QEMU_PLUGIN_DIR
PLUGIN_SOURCES = ("mf_icount.c", "mf_qemu_plugin_api.h")
PLUGIN_CC = "gcc"
PLUGIN_CFLAGS = ("-shared", "-fPIC", "-O2", "-std=gnu11", "-Wall", "-Wextra", "-Werror")
BUILD_TIMEOUT_S = 120.0


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mcuforge" / "qemu_plugin"


def plugin_path(cache_dir: Path | None = None) -> Path:
    """Path of the built plugin, building it if this source version is not cached yet."""
    digest = hashlib.sha256()
    for name in PLUGIN_SOURCES:
        digest.update(name.encode() + b"\0" + (PLUGIN_DIR / name).read_bytes())
    digest.update(" ".join((PLUGIN_CC, *PLUGIN_CFLAGS)).encode())
    target_dir = (cache_dir or default_cache_dir()) / digest.hexdigest()[:16]
    so = target_dir / "libmf_icount.so"
    if so.is_file():
        return so
    target_dir.mkdir(parents=True, exist_ok=True)
    tmp = target_dir / f".libmf_icount.{os.getpid()}.so"
    run_tool([PLUGIN_CC, *PLUGIN_CFLAGS, "-o", str(tmp), str(PLUGIN_DIR / "mf_icount.c")],
             what="building the QEMU instruction-counting plugin", timeout=BUILD_TIMEOUT_S)
    os.replace(tmp, so)
    return so
