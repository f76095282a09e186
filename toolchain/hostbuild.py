"""Build generated C for the host with gcc and run it on inputs (the fast tier)."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from toolchain.codegen.emit import SourceSet, _env
from toolchain.errors import McuforgeError

WARN = ["-Wall", "-Wextra", "-Werror", "-std=c11"]
SANITIZE = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer", "-g"]


class BuildError(McuforgeError):
    pass


@dataclass(frozen=True)
class HostBinary:
    path: Path
    n_inputs: int


def host_cc() -> str:
    cc = os.environ.get("CC", "gcc")
    if shutil.which(cc) is None:
        raise BuildError(f"host compiler {cc!r} not found (apt-get install gcc)")
    return cc


def build_host(src: SourceSet, n_inputs: int, opt: str = "-O2", sanitize: bool = False,
               timeout: float = 300.0) -> HostBinary:
    main = src.out_dir / "host_main.c"
    main.write_text(_env().get_template("host_main.c.j2").render(prefix="mf_model", source=str(src.out_dir)))
    exe = src.out_dir / ("model_host_asan" if sanitize else "model_host")
    cmd = [host_cc(), *WARN, opt, *(SANITIZE if sanitize else []), *[f"-I{d}" for d in src.include_dirs],
           str(main), *[str(f) for f in src.c_files], "-lm", "-o", str(exe)]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise BuildError(f"host build timed out after {timeout:.0f} s") from None
    if r.returncode != 0:
        raise BuildError("host build failed:\n" + r.stderr[-4000:])
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
        raise BuildError(f"{binary.path.name} exited {r.returncode}:\n{r.stderr[-4000:]}")
    flat = np.frombuffer(fout.read_bytes(), dtype=np.float32)
    outs, pos = [], 0
    for n in output_sizes:
        outs.append(flat[pos:pos + n].copy())
        pos += n
    return outs
