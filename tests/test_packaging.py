"""An installed mcuforge works like the source tree: sdist -> wheel -> a fresh virtual
environment outside the source tree, then compile, verify and run --sim on DS-CNN from there
(issue 16, part 3). No network: the venv sees the system's packages and the wheel is
installed with --no-deps."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from conftest import REAL_MODELS, ROOT
from fixtures.sim_support import require_tools
from toolchain import __version__
from toolchain.boards import load_board

# what a build needs besides the Python package: the sdist must carry it all
SOURCE_ITEMS = ("toolchain", "runtime_c", "templates", "boards", "tools", "setup.py", "pyproject.toml",
                "MANIFEST.in", "README.md")


def _run(cmd: list[str], cwd: Path, timeout: float = 900) -> subprocess.CompletedProcess:
    # no PYTHONPATH: the installed package, not a checkout, must answer
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)
    assert r.returncode == 0, f"{' '.join(cmd)}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin/ folder of a venv holding mcuforge installed from a wheel built from an sdist."""
    tmp = tmp_path_factory.mktemp("pkg")
    src = tmp / "src"  # a copy: building writes build/ and *.egg-info next to setup.py
    src.mkdir()
    for item in SOURCE_ITEMS:
        p = ROOT / item
        if p.is_dir():
            shutil.copytree(p, src / item, ignore=shutil.ignore_patterns("__pycache__", "_data", "*.so", "*.o"))
        else:
            shutil.copy2(p, src / item)
    dist = tmp / "dist"
    _run([sys.executable, "setup.py", "-q", "sdist", "-d", str(dist)], src)
    sdist = next(dist.glob("mcuforge-*.tar.gz"))
    with tarfile.open(sdist) as tf:
        names = tf.getnames()
    for must in ("runtime_c/include/mf_kernels.h", "templates/model.c.j2", "boards/rv32-rvv.toml",
                 "tools/qemu_plugin/mf_icount.c", "PKG-COMMIT"):
        assert any(n.endswith(must) for n in names), must
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(dist),
          str(sdist)], tmp)
    wheel = next(dist.glob("mcuforge-*.whl"))
    with zipfile.ZipFile(wheel) as zf:
        files = set(zf.namelist())
    for must in ("toolchain/_data/runtime_c/src/conv_f32_ref.c", "toolchain/_data/templates/board/main.c.j2",
                 "toolchain/_data/boards/stm32f746-disco.toml", "toolchain/_data/qemu_plugin/mf_icount.c",
                 "toolchain/_data/build_info.json", "toolchain/resources.py"):
        assert must in files, must
    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], tmp)
    _run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps", "--disable-pip-version-check",
          str(wheel)], tmp)
    return venv / "bin"


@pytest.mark.qemu
def test_wheel_installs_and_runs_dscnn_outside_the_source_tree(installed: Path, tmp_path: Path) -> None:
    board = load_board("stm32f746-disco")
    require_tools(board)
    work = tmp_path / "elsewhere"  # nothing of the source tree on the path or in the cwd
    work.mkdir()
    where = _run([str(installed / "python"), "-c",
                  "import toolchain, toolchain.resources as r; print(toolchain.__file__); print(r.RUNTIME_DIR)"], work)
    pkg_file, runtime = where.stdout.split()
    assert pkg_file.startswith(str(installed.parent)) and "_data" in runtime, where.stdout
    assert not runtime.startswith(str(ROOT))

    mcuforge = str(installed / "mcuforge")
    assert _run([mcuforge, "--version"], work).stdout.startswith(f"mcuforge {__version__}")
    model = str(REAL_MODELS["dscnn"])
    comp = json.loads(_run([mcuforge, "compile", model, "-o", "out", "--json"], work).stdout)
    assert comp["arena_bytes"] > 0 and (work / "out" / "runtime" / "src").is_dir()
    assert any(Path(f).name.startswith("conv") for f in comp["files"])
    ver = json.loads(_run([mcuforge, "verify", model, "--json"], work).stdout)
    assert ver["match"]
    run = json.loads(_run([mcuforge, "run", model, "--board", board.name, "--sim", "--json"], work).stdout)
    assert run["match"] and run["instructions"] > run["macs"] // 4  # the plugin built from _data counted
    ops = json.loads(_run([mcuforge, "ops", "--json"], work).stdout)
    assert {"Conv", "Gemm", "Softmax"} <= {o["op"] for o in ops}


def test_version_names_the_commit_of_a_checkout() -> None:
    r = subprocess.run([sys.executable, "-m", "toolchain.cli", "--version"], capture_output=True, text=True,
                       timeout=60, cwd=ROOT)
    assert r.returncode == 0
    assert r.stdout.startswith(f"mcuforge {__version__}")
    if (ROOT / ".git").exists() and shutil.which("git"):
        assert "(git " in r.stdout


def test_ops_lists_kernels_and_the_variant_each_board_calls() -> None:
    from toolchain.opsinfo import ops_table

    rows = {r.op: r for r in ops_table(["rv32-rvv", "stm32f746-disco", "cortex-m55-an547"])}
    conv, gemm = rows["Conv"], rows["Gemm"]
    assert "conv2d" in conv.families and conv.dtypes == ("fp32", "fp16")
    assert "rvv" in conv.isas["conv2d/fp16"] and "ref" in conv.isas["conv2d/fp32"]
    assert gemm.boards["rv32-rvv"]["fp16"] == "rvv" and gemm.boards["cortex-m55-an547"]["fp16"] == "mve"
    assert gemm.boards["stm32f746-disco"] == {"fp32": "dsp", "fp16": "ref"}  # M7: FP16 is storage only
    assert rows["Reshape"].kind == "view" and rows["Shape"].kind == "folded"
    assert rows["BatchNormalization"].kind == "fused"
    assert rows["Transpose"].families == ("copy",)  # found through the module's copy_call helper
    r = subprocess.run([sys.executable, "-m", "toolchain.cli", "ops", "--board", "nosuchboard"], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 2 and r.stderr.startswith("error: unknown board")
