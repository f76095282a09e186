"""Build generated C for the host with gcc and run it on inputs (the fast tier)."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from toolchain.codegen import SourceSet, c_comment, template_env
from toolchain.errors import McuforgeError

WARN = ["-Wall", "-Wextra", "-Werror", "-std=c11"]
SANITIZE = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer", "-g"]


class BuildError(McuforgeError):
    """The host build or run of generated C failed: mcuforge's fault, not the user's."""

    internal = True


@dataclass(frozen=True)
class HostBinary:
    path: Path
    n_inputs: int


def host_cc() -> str:
    cc = os.environ.get("CC", "gcc")
    if shutil.which(cc) is None:
        raise BuildError(f"host compiler {cc!r} not found (apt-get install gcc)", internal=False)
    return cc


def build_runtime_lib(out_dir: Path, opt: str = "-O2", timeout: float = 300.0) -> Path:
    """All runtime kernels as one static library: many small models then link it instead of
    compiling the kernels again (the ONNX backend test suite builds hundreds)."""
    from toolchain.codegen.emit import RUNTIME

    out_dir.mkdir(parents=True, exist_ok=True)
    objs = []
    for f in sorted((RUNTIME / "src").glob("*.c")):
        o = out_dir / (f.stem + ".o")
        _run([host_cc(), *WARN, opt, f"-I{RUNTIME / 'include'}", "-c", str(f), "-o", str(o)], timeout)
        objs.append(str(o))
    lib = out_dir / "libmfrt.a"
    lib.unlink(missing_ok=True)
    _run(["ar", "rcs", str(lib), *objs], timeout)
    return lib


def _run(cmd: list[str], timeout: float) -> None:
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise BuildError(f"{Path(cmd[0]).name} timed out after {timeout:.0f} s") from None
    if r.returncode != 0:
        raise BuildError(f"{Path(cmd[0]).name} failed on generated C; command: {' '.join(cmd)}\n" + r.stderr)


def build_host(src: SourceSet, n_inputs: int, opt: str = "-O2", sanitize: bool = False,
               timeout: float = 300.0, runtime_lib: Path | None = None) -> HostBinary:
    main = src.out_dir / "host_main.c"
    main.write_text(template_env().get_template("host_main.c.j2").render(prefix="mf_model",
                                                                         source=c_comment(src.out_dir)))
    exe = src.out_dir / ("model_host_asan" if sanitize else "model_host")
    rt_dir = src.out_dir / "runtime"
    c_files = [f for f in src.c_files if runtime_lib is None or rt_dir not in f.parents]
    cmd = [host_cc(), *WARN, opt, *(SANITIZE if sanitize else []), *[f"-I{d}" for d in src.include_dirs],
           str(main), *[str(f) for f in c_files], *([str(runtime_lib)] if runtime_lib else []), "-lm",
           "-o", str(exe)]
    _run(cmd, timeout)
    return HostBinary(exe, n_inputs)


def run_host(binary: HostBinary, inputs: list[np.ndarray], output_sizes: list[int],
             timeout: float = 120.0) -> list[np.ndarray]:
    d = binary.path.parent
    fin, fout = d / "inputs.bin", d / "outputs.bin"
    fin.write_bytes(b"".join(np.ascontiguousarray(x, dtype=np.float32).tobytes() for x in inputs))
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=0", UBSAN_OPTIONS="halt_on_error=1")
    try:
        r = subprocess.run([str(binary.path), str(fin), str(fout)], capture_output=True, text=True,
                           timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        raise BuildError(f"{binary.path.name} timed out after {timeout:.0f} s") from None
    if r.returncode != 0 or r.stderr.strip():
        raise BuildError(f"{binary.path.name} exited {r.returncode}:\n{r.stderr}")
    flat = np.frombuffer(fout.read_bytes(), dtype=np.float32)
    outs, pos = [], 0
    for n in output_sizes:
        outs.append(flat[pos:pos + n].copy())
        pos += n
    return outs
