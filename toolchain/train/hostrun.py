"""Build the training step with the host gcc and run N steps over the data (the fast tier)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from toolchain.codegen import SourceSet, c_comment, template_env
from toolchain.build.host import SANITIZE, WARN, BuildError, host_cc
from toolchain.train.program import TrainProgram


@dataclass
class StepRun:
    losses: np.ndarray
    weights: dict[str, np.ndarray]  # trainable weight name -> value after the last step


def build_host_trainer(src: SourceSet, opt: str = "-O2", sanitize: bool = False, timeout: float = 300.0) -> Path:
    main = src.out_dir / "train_host_main.c"
    main.write_text(template_env().get_template("train/host_main.c.j2").render(source=c_comment(src.out_dir)))
    exe = src.out_dir / ("train_host_asan" if sanitize else "train_host")
    cmd = [host_cc(), *WARN, opt, *(SANITIZE if sanitize else []), *[f"-I{d}" for d in src.include_dirs],
           str(main), *[str(f) for f in src.c_files], "-lm", "-o", str(exe)]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise BuildError(f"host build timed out after {timeout:.0f} s") from None
    if r.returncode != 0:
        raise BuildError("host build of the training step failed:\n" + r.stderr[-4000:])
    return exe


def label_array(prog: TrainProgram, ys: np.ndarray) -> np.ndarray:
    """Labels as the C step takes them: int32 class indices, or float32 targets."""
    n = len(ys)
    if prog.tg.loss_params.kind == "cross_entropy":
        return np.asarray(ys).reshape(n, -1).astype(np.int32)
    return np.asarray(ys, dtype=np.float32).reshape(n, -1)


def run_host_trainer(exe: Path, prog: TrainProgram, xs: np.ndarray, ys: np.ndarray, steps: int,
                     timeout: float = 600.0) -> StepRun:
    d = exe.parent
    fx, fy, fo = d / "train_x.bin", d / "train_y.bin", d / "train_out.bin"
    fx.write_bytes(np.ascontiguousarray(xs, dtype=np.float32).tobytes())
    fy.write_bytes(np.ascontiguousarray(label_array(prog, ys)).tobytes())
    try:
        r = subprocess.run([str(exe), str(fx), str(fy), str(steps), str(fo)], capture_output=True, text=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        raise BuildError(f"{exe.name} timed out after {timeout:.0f} s") from None
    if r.returncode != 0 or r.stderr.strip():
        raise BuildError(f"{exe.name} exited {r.returncode}:\n{r.stderr[-4000:]}")
    flat = np.frombuffer(fo.read_bytes(), dtype=np.float32)
    weights, pos = {}, steps
    for w in prog.tg.weights:
        weights[w.name] = flat[pos:pos + w.init.size].reshape(w.init.shape).copy()
        pos += w.init.size
    return StepRun(flat[:steps].copy(), weights)
