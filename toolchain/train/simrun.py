"""Run the training step in QEMU through the board harness (toolchain.sim).

The harness's firmware main runs "the model" between its benchmark markers and prints its
outputs bit-exactly; fw_model.c.j2 makes "the model" N training steps over data baked into
flash, with the losses and final weights as outputs. So the QEMU tier reuses the harness's
main, UART protocol and instruction counting unchanged.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from toolchain.codegen import SourceSet, c_comment, template_env
from toolchain.ops.base import c_float
from toolchain.train.hostrun import label_array
from toolchain.train.program import TrainProgram


def render_firmware_model(src: SourceSet, prog: TrainProgram, xs: np.ndarray, ys: np.ndarray, steps: int) -> Path:
    labels = label_array(prog, ys)
    per_line = 8

    def rows(v: np.ndarray) -> list[str]:
        lits = [c_float(float(a)) for a in np.asarray(v, np.float32).reshape(-1)]
        return [", ".join(lits[i:i + per_line]) for i in range(0, len(lits), per_line)]

    ys_txt = [", ".join(str(int(v)) if labels.dtype.kind == "i" else c_float(float(v)) for v in row) for row in labels]
    ctx = {"source": c_comment(prog.graph.source or prog.graph.name), "steps": str(steps), "samples": str(len(xs)),
           "xs": [rows(x) for x in xs], "ys": ys_txt}
    env = template_env()
    (src.out_dir / "model.h").write_text(env.get_template("train/fw_model.h.j2").render(**ctx))
    path = src.out_dir / "train_fw.c"
    path.write_text(env.get_template("train/fw_model.c.j2").render(**ctx))
    return path


def run_in_qemu(src: SourceSet, prog: TrainProgram, board, xs: np.ndarray, ys: np.ndarray, steps: int,
                out_dir: Path, harts: int = 1, one_hart_work: float | None = None
                ) -> tuple[np.ndarray, dict[str, np.ndarray], float | None, float | None, dict | None]:
    """(losses, final weights, instructions per step, LMUL-weighted instructions per step on
    RVV boards, else None, the cluster figures per step on a cluster board, else None) from
    one QEMU run of `steps` steps. one_hart_work: the 1-hart instructions per step, for the
    parallel efficiency."""
    from toolchain.build.firmware import build_firmware
    from toolchain.sim.qemu import run_firmware

    fw_main = render_firmware_model(src, prog, xs, ys, steps)
    sources = SourceSet(list(src.c_files) + [fw_main], list(src.include_dirs), src.out_dir)
    build = build_firmware(sources, board, out_dir / "fw", [np.zeros(1, np.float32)], harts=harts)
    rvv = board.core.simd == "rvv"  # count each vector instruction LMUL times as well
    run = run_firmware(build, timeout=60.0 + 30.0 * steps, lmul_weighting=rvv)
    if run.status != 0:
        raise RuntimeError(f"training firmware on {board.name} returned status {run.status}")
    losses = np.asarray(run.outputs[0], np.float32)
    weights = {w.name: np.asarray(run.outputs[1 + i], np.float32).reshape(w.init.shape).copy()
               for i, w in enumerate(prog.tg.weights)}
    # the count covers the `steps` steps only: the firmware closes the window around its init
    ips = run.instructions / steps if run.instructions is not None and steps else None
    wips = run.weighted_instructions / steps if run.weighted_instructions is not None and steps else None
    cluster = None
    if run.cluster is not None and steps:
        from toolchain.run import cluster_figures

        c = cluster_figures(run.cluster, rvv, None)
        per_step = {k: c[k] / steps for k in ("span_instructions", "serial_instructions", "work_instructions")}
        per_step["instructions_per_hart"] = [v / steps for v in c["instructions_per_hart"]]
        eff = one_hart_work / (harts * per_step["span_instructions"]) if one_hart_work else None
        cluster = {"harts": c["harts"], "regions_per_step": c["regions"] / steps, **per_step,
                   "one_hart_instructions": one_hart_work, "parallel_efficiency": eff}
    return losses, weights, ips, wips, cluster
