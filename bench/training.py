"""Instructions per training step in QEMU: ResNet-8 and DS-CNN, full backprop and last-layers
fine-tuning, FP32 and FP16 (mixed precision), on each simulated board, with MACs per
instruction; a Conv2D single-layer step and the Conv2D backward kernels alone, FP16 SIMD vs
FP32 (the reduced-precision on-device learning paper's figure to beat: 1.72x for a Conv2D
training step).

    python bench/training.py [--boards stm32f746-disco,rv32-rvv,cortex-m55-an547]
                             [--models resnet8,dscnn] [--jobs 2] [--json]
    python bench/training.py --cluster [--harts 1,2,4,8] [--models resnet8,dscnn]

--cluster: the training step on the 8-hart cluster board (rv32-rvv-x8, issue 17), per model
and hart count: the span (critical path, LMUL-weighted instructions per step), MACs per span
instruction and the parallel efficiency, beside the paper's 3.11 (ResNet-8) and 0.81 (DS-CNN)
MACs per cycle on PULP's 8-core cluster. Instructions are not cycles: QEMU models no timing,
no shared-L1 banking conflicts and no DMA, and one RVV instruction here does up to 4 FP32
MACs; the comparison says how much work sits on the critical path, not how fast silicon is.

Counts are executed instructions between the firmware's benchmark markers (a proxy for
cycles, exact and deterministic), per step, one step after init. On rv32-rvv the kernels use
LMUL 2; the `weighted` column counts each vector instruction LMUL times (issue 5). Kernels are
the board's best for the dtype (toolchain.codegen.target): stm32f746-disco has no FP16
arithmetic, so its FP16 step stores FP16 and computes in FP32 (slower than FP32: the
conversions). A step that does not fit a board's RAM prints the planner's message.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

SHARED = ROOT.parent / "shared" / "models"
if not SHARED.is_dir():  # a worktree or a dev checkout: as tests/conftest.py
    SHARED = Path(os.environ.get("MCUFORGE_SHARED", "/work/shared")) / "models"
MODELS = {"resnet8": SHARED / "resnet8_cifar10.onnx", "dscnn": SHARED / "dscnn_kws.onnx"}
MODES = {"full": "all", "last-layers": "last:2"}
BOARDS = "stm32f746-disco,rv32-rvv,cortex-m55-an547"
CONV = (16, 16, 16, 16)  # the single-layer step: c_in, c_out, h, w; 3x3, pad 1


def conv_layer_model(path: Path) -> Path:
    """x -> Conv 3x3 (trainable) -> y, trained with MSE: one forward, bwd_weight and update."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    ci, co, h, w = CONV
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array((rng.standard_normal((co, ci, 3, 3)) * 0.1).astype(np.float32), "w"),
             numpy_helper.from_array(np.zeros(co, np.float32), "b")]
    node = helper.make_node("Conv", ["x", "w", "b"], ["y"], pads=[1, 1, 1, 1], name="conv")
    g = helper.make_graph([node], "conv_layer", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, ci, h, w])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, co, h, w])], inits)
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)]), str(path))
    return path


def step_row(job: tuple[str, str, str, str, str]) -> dict:
    from toolchain.errors import McuforgeError
    from toolchain.train.api import train

    board, model, mode, trainable, dtype = job
    loss = "mse" if model == "conv2d" else "cross_entropy"
    path = conv_layer_model(Path(tempfile.mkdtemp()) / "conv.onnx") if model == "conv2d" else MODELS[model]
    row = {"board": board, "model": model, "mode": mode, "dtype": dtype}
    try:
        r = train(path, trainable, loss, steps=1, board=board, lr=0.01, dtype=dtype, reference=False)
    except McuforgeError as e:  # DoesNotFitError, or the firmware's BudgetError
        return row | {"error": str(e).splitlines()[0]}
    macs = r.report["macs_forward"] + r.report["macs_backward"]
    ips, wips = r.instructions_per_step, r.weighted_instructions_per_step
    return row | {"instructions_per_step": ips, "weighted_per_step": wips, "macs_per_step": macs,
                  "macs_per_instruction": macs / (wips or ips), "peak_ram_bytes": r.peak_ram_bytes}


def kernel_row(job: tuple[str, str, str]) -> dict:
    """The Conv2D backward pair (bwd_input + bwd_weight) alone, from the kernel test harness."""
    from test_train_kernels import Conv, run_bwd
    from toolchain.boards import load_board

    board, dtype, isa = job
    ci, co, h, w = CONV
    r = run_bwd(load_board(board), Conv(ci, co, h, w), dtype, isa)
    n = r.weighted or r.instructions
    return {"board": board, "model": "conv2d-bwd-kernels", "mode": isa, "dtype": {"f32": "fp32", "f16": "fp16"}[dtype],
            "instructions_per_step": r.instructions, "weighted_per_step": r.weighted, "macs_per_step": r.macs,
            "macs_per_instruction": r.macs / n, "max_error": r.max_error()}


PAPER_MACS_PER_CYCLE = {"resnet8": 3.11, "dscnn": 0.81}  # 8-core PULP cluster, training step
CLUSTER_BOARD = "rv32-rvv-x8"


def cluster_row(job: tuple[str, str, str, int]) -> dict:
    """One training step on `harts` harts of the cluster board: span and per-hart work."""
    from toolchain.errors import McuforgeError
    from toolchain.train.api import train

    model, mode, trainable, harts = job
    row = {"board": CLUSTER_BOARD, "model": model, "mode": mode, "harts": harts}
    try:
        r = train(MODELS[model], trainable, "cross_entropy", steps=1, board=CLUSTER_BOARD, lr=0.01,
                  reference=False, harts=harts)
    except McuforgeError as e:
        return row | {"error": str(e).splitlines()[0]}
    c = r.cluster or {}
    macs = r.report["macs_forward"] + r.report["macs_backward"]
    return row | {"macs_per_step": macs, "span": c.get("span_instructions"), "work": c.get("work_instructions"),
                  "macs_per_span_instruction": macs / c["span_instructions"] if c.get("span_instructions") else None}


def show_cluster(rows: list[dict]) -> None:
    one = {(r["model"], r["mode"]): r["work"] for r in rows if r["harts"] == 1 and "error" not in r}
    print(f"{'model':8s} {'mode':11s} {'harts':>5s} {'span/step':>13s} {'MACs/step':>12s} {'MAC/span-ins':>12s} "
          f"{'efficiency':>10s}  paper (MACs/cycle, 8 cores)")
    for r in rows:
        head = f"{r['model']:8s} {r['mode']:11s} {r['harts']:5d}"
        if "error" in r:
            print(f"{head}  error: {r['error']}")
            continue
        w1 = one.get((r["model"], r["mode"]))
        eff = f"{w1 / (r['harts'] * r['span']):10.3f}" if w1 else f"{'-':>10s}"
        print(f"{head} {r['span']:13,.0f} {r['macs_per_step']:12,} {r['macs_per_span_instruction']:12.3f} {eff}  "
              f"{PAPER_MACS_PER_CYCLE[r['model']]:.2f}")
    print("Instructions are not cycles: the span counts executed instructions (LMUL-weighted) on the busiest "
          "hart per fork/join region plus the serial part; QEMU models no timing or memory contention.")


def show(row: dict) -> None:
    head = f"{row['board']:17s} {row['model']:18s} {row['mode']:11s} {row['dtype']:4s}"
    if "error" in row:
        print(f"{head}  does not fit: {row['error']}", flush=True)
        return
    w = f"{row['weighted_per_step']:13,.0f}" if row.get("weighted_per_step") else f"{'-':>13s}"
    print(f"{head} {row['instructions_per_step']:13,.0f} {w} {row['macs_per_step']:12,} "
          f"{row['macs_per_instruction']:7.3f}", flush=True)


def speedups(rows: list[dict]) -> list[str]:
    """FP16 vs FP32 on the same board, model and mode (weighted counts where there are)."""
    out = []
    by = {(r["board"], r["model"], r["mode"], r["dtype"]): r for r in rows if "error" not in r}
    for (b, m, mo, dt), r16 in by.items():
        r32 = by.get((b, m, mo, "fp32"))
        if dt != "fp16" or r32 is None:
            continue
        k = "weighted_per_step" if r16.get("weighted_per_step") else "instructions_per_step"
        raw = r32["instructions_per_step"] / r16["instructions_per_step"]
        out.append(f"{b:17s} {m:18s} {mo:11s} FP16 vs FP32: {r32[k] / r16[k]:5.2f}x"
                   + (f" (LMUL-weighted; raw {raw:.2f}x)" if k == "weighted_per_step" else ""))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--boards", default=BOARDS)
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--cluster", action="store_true", help=f"the training step on {CLUSTER_BOARD} per hart count")
    ap.add_argument("--harts", default="1,2,4,8")
    a = ap.parse_args()
    from toolchain.boards import load_board

    if a.cluster:
        jobs = [(m, mo, tr, int(h)) for m in a.models.split(",") for mo, tr in MODES.items()
                for h in a.harts.split(",")]
        with ProcessPoolExecutor(a.jobs) as pool:
            rows = list(pool.map(cluster_row, jobs))
        show_cluster(rows)
        if a.json:
            print(json.dumps(rows, indent=2))
        return

    boards = a.boards.split(",")
    steps = [(b, m, mo, tr, dt) for b in boards for m in a.models.split(",") for mo, tr in MODES.items()
             for dt in ("fp32", "fp16")]
    steps += [(b, "conv2d", "layer", "all", dt) for b in boards for dt in ("fp32", "fp16")]
    simd = {b: load_board(b).core.simd for b in boards}
    kernels = [(b, dt, simd[b]) for b in boards if simd[b] in ("rvv", "mve") for dt in ("f32", "f16")]
    print(f"{'board':17s} {'model':18s} {'mode':11s} {'type':4s} {'instr/step':>13s} {'weighted':>13s} "
          f"{'MACs/step':>12s} {'MAC/ins':>7s}", flush=True)
    with ProcessPoolExecutor(a.jobs) as pool:
        rows = list(pool.map(step_row, steps)) + list(pool.map(kernel_row, kernels))
    for r in rows:
        show(r)
    print()
    for line in speedups(rows):
        print(line)
    if a.json:
        print(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
