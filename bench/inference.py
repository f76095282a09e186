"""Instructions per inference in QEMU, FP32 and FP16, per board and model: ResNet-8, DS-CNN and
the example ViT, with MACs per instruction, arena, flash and measured stack.

    python bench/inference.py [--boards ...] [--models resnet8,dscnn,vit] [--kernels board|ref] [--json]

--kernels board (default) uses the kernels the board's fields select (toolchain.codegen.target:
dsp scalar on Cortex-M4/M7, rvv / mve SIMD where the core has it, ref otherwise); ref forces the
portable reference kernels. On rv32-rvv the count is LMUL-weighted (each vector instruction
counts LMUL times). FP16 rows are checked against onnxruntime FP32 (max error, top-1).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from toolchain.api import CompileOptions, compile_model, write_sources  # noqa: E402
from toolchain.boards import load_board  # noqa: E402
from toolchain.codegen.target import kernel_target  # noqa: E402
from toolchain.errors import McuforgeError  # noqa: E402
from toolchain.sim import build_firmware, run_qemu  # noqa: E402

SHARED = ROOT.parent / "shared" / "models"
MODELS = {"resnet8": SHARED / "resnet8_cifar10.onnx", "dscnn": SHARED / "dscnn_kws.onnx",
          "vit": ROOT / "examples" / "vit_tiny_opset18.onnx"}
BOARDS = "stm32f746-disco,stm32f405-netduinoplus2,rv32-rvv,cortex-m55-an547"


def run_one(model: Path, board_name: str, dtype: str, kernels: str) -> dict:
    import onnxruntime as ort

    board = load_board(board_name)
    target = kernel_target(board if kernels == "board" else None, dtype)  # type: ignore[arg-type]
    cm = compile_model(model, options=CompileOptions(target=target))
    sess = ort.InferenceSession(str(model))
    rng = np.random.default_rng(7)
    inputs = [rng.standard_normal([d if isinstance(d, int) else 1 for d in i.shape]).astype(np.float32)
              for i in sess.get_inputs()]
    want = sess.run(None, {i.name: x for i, x in zip(sess.get_inputs(), inputs)})[0].reshape(-1)
    with tempfile.TemporaryDirectory(prefix="mf_bench_inf_") as tmp:
        src = write_sources(cm, Path(tmp) / "src")
        build = build_firmware(src, board, Path(tmp) / "fw", inputs)
        r = run_qemu(build, board, timeout=1800, lmul_weighting=board.core.simd == "rvv")
    got = r.outputs[0]
    count = r.weighted_instructions or r.instructions or 0
    return {"model": model.stem, "board": board_name, "dtype": dtype, "kernels": list(target.isas),
            "instructions": count, "count": "LMUL-weighted" if r.weighted_instructions else "plain",
            "macs": cm.macs, "macs_per_instr": round(cm.macs / count, 3) if count else None,
            "arena_bytes": cm.arena_bytes, "scratch_bytes": cm.scratch_bytes, "weight_bytes": cm.weight_bytes,
            "flash_bytes": build.flash_bytes, "stack_bytes": r.stack_bytes,
            "max_abs_error_vs_ort": float(np.max(np.abs(got - want))),
            "top1_agrees": bool(np.argmax(got) == np.argmax(want))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--boards", default=BOARDS)
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--dtypes", default="fp32,fp16")
    ap.add_argument("--kernels", choices=("board", "ref"), default="board")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    rows = []
    for board in a.boards.split(","):
        for m in a.models.split(","):
            base = None
            for dtype in a.dtypes.split(","):
                try:
                    row = run_one(MODELS[m], board, dtype, a.kernels)
                except McuforgeError as e:  # e.g. does not fit the board
                    row = {"model": m, "board": board, "dtype": dtype, "error": str(e).splitlines()[0]}
                if "instructions" in row and dtype == "fp32":
                    base = row["instructions"]
                if "instructions" in row and dtype == "fp16" and base:
                    row["speedup_vs_fp32"] = round(base / row["instructions"], 2)
                rows.append(row)
                if not a.json:
                    print(_line(row), flush=True)
    if a.json:
        print(json.dumps(rows, indent=1))


def _line(r: dict) -> str:
    if "error" in r:
        return f"{r['board']:24s} {r['model']:18s} {r['dtype']}  {r['error']}"
    extra = f"  x{r['speedup_vs_fp32']} vs fp32" if "speedup_vs_fp32" in r else ""
    return (f"{r['board']:24s} {r['model']:18s} {r['dtype']} {'/'.join(r['kernels']):13s} "
            f"{r['instructions'] / 1e6:8.2f} M instr ({r['count']}) {r['macs_per_instr']:5.2f} MAC/instr "
            f"arena {r['arena_bytes']} flash {r['flash_bytes']} stack {r['stack_bytes']} "
            f"err {r['max_abs_error_vs_ort']:.1e} top1 {r['top1_agrees']}{extra}")


if __name__ == "__main__":
    main()
