"""Instructions per inference in QEMU, FP32, FP16 and int8, per board and model: ResNet-8, DS-CNN,
the example ViT, the low-rank ViT and MobileNetV1-0.25 VWW (examples/vww_mobilenet.py), with MACs per instruction, arena, flash and measured stack.

    python bench/inference.py [--boards ...] [--models resnet8,dscnn,vit,lowrank_vit,vww,vit240_int8]
                              [--dtypes fp32,fp16,int8]
                              [--kernels board|ref] [--stream-input] [--json]
    python bench/inference.py --models vit240_int8 --dtypes int8 --stream-input \
        --boards stm32f746-disco,cortex-m55-an547,rv32-rvv
    python bench/inference.py --models zoo --boards stm32f746-disco --dtypes fp32
    python bench/inference.py --models zoo --boards rv32-rvv,cortex-m55-an547 --dtypes fp16

--models zoo runs the ViT test zoo (tests/zoo/: timm, Hugging Face, torch.nn, Keras/tf2onnx and
Einsum exports, one or two per family); int8 rows of a zoo model quantise it on the fly.

int8 rows run MLPerf Tiny's full-integer files (resnet8_int8.onnx, dscnn_kws_int8.onnx) where
the model has one, else the float model quantised on the fly (seeded calibration), and are
checked against onnxruntime in LSBs. vit240_int8 is the integer-only 3x240x240 low-rank ViT
of issue 15 (examples/lowrank_vit_240_int8.onnx), int8 rows only.

--stream-input adds, after each int8 row, the same model built with the streamed-row input
(`--stream-input`: mf_model_run_rows pulls the image a row at a time), marked "streamed".

--kernels board (default) uses the kernels the board's fields select (toolchain.codegen.target:
dsp scalar on Cortex-M4/M7, rvv / mve SIMD where the core has it, ref otherwise); ref forces the
portable reference kernels. On rv32-rvv the count is LMUL-weighted (each vector instruction
counts LMUL times). FP16 rows are checked against onnxruntime FP32 (max error, top-1).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from toolchain.api import CompileOptions  # noqa: E402
from toolchain.errors import McuforgeError  # noqa: E402
from toolchain.run import run_on_board  # noqa: E402

SHARED = ROOT.parent / "shared" / "models"
if not SHARED.is_dir():  # a worktree or a dev checkout: as tests/conftest.py
    SHARED = Path(os.environ.get("MCUFORGE_SHARED", "/work/shared")) / "models"
MODELS = {"resnet8": SHARED / "resnet8_cifar10.onnx", "dscnn": SHARED / "dscnn_kws.onnx",
          "vit": ROOT / "examples" / "vit_tiny_opset18.onnx", "lowrank_vit": ROOT / "examples" / "lowrank_vit_112.onnx",
          "vww": ROOT / "examples" / "vww_mobilenet_v1_025.onnx"}
# The ViT test zoo (tests/zoo/make_zoo.py, make_keras_vit.py): one export per family (timm,
# Hugging Face, torch.nn encoder / MultiheadAttention with a mask, Keras through tf2onnx, Einsum),
# 32x32, patch 4, 2 blocks. `--models zoo` runs them all; `--models hf_vit_eager,...` some.
ZOO = ROOT / "tests" / "zoo"
ZOO_MODELS = {n: ZOO / f"{n}.onnx" for n in (
    "timm_vit_legacy", "timm_vit_opset23", "hf_vit_eager", "hf_vit_sdpa_dynamo", "torch_encoder_legacy",
    "torch_mha_mask_legacy", "keras_mha_tf2onnx", "keras_mha_einsum_tf2onnx", "torch_einsum_legacy")}
MODELS.update(ZOO_MODELS)
DEFAULT_MODELS = "resnet8,dscnn,vit,lowrank_vit,vww,vit240_int8"
INT8_MODELS = {"resnet8": SHARED / "resnet8_int8.onnx", "dscnn": SHARED / "dscnn_kws_int8.onnx",
               "vit240_int8": ROOT / "examples" / "lowrank_vit_240_int8.onnx"}
# int8 only (issue 15's 3x240x240 integer low-rank ViT: its float input alone is 691,200 B)
MODELS["vit240_int8"] = INT8_MODELS["vit240_int8"]
INT8_ONLY = {"vit240_int8"}
BOARDS = "stm32f746-disco,stm32f405-netduinoplus2,rv32-rvv,cortex-m55-an547"


def run_one(model: Path, board_name: str, dtype: str, kernels: str, stream: bool = False) -> dict:
    """One model on one board in QEMU, compared with onnxruntime: toolchain.run does it all."""
    r = run_on_board(model, board_name, seed=7, timeout=1800, dtype=dtype, kernels=kernels,
                     options=CompileOptions(stream_input=stream))
    count = r.cost or 0
    return {"model": model.stem, "board": board_name, "dtype": dtype + (" streamed" if stream else ""),
            "kernels": r.extra["kernels"],
            "instructions": count, "count": "LMUL-weighted" if r.weighted_instructions else "plain",
            "macs": r.macs, "macs_per_instr": round(r.macs / count, 3) if count else None,
            "arena_bytes": r.arena_bytes, "flash_bytes": r.flash_bytes, "stack_bytes": r.stack_bytes,
            "max_abs_error_vs_ort": r.max_abs_error, "top1_agrees": r.extra["top1_agree"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--boards", default=BOARDS)
    ap.add_argument("--models", default=DEFAULT_MODELS, help=f"comma list of {', '.join(MODELS)}, or zoo")
    ap.add_argument("--dtypes", default="fp32,fp16,int8")
    ap.add_argument("--kernels", choices=("board", "ref"), default="board")
    ap.add_argument("--stream-input", action="store_true", help="also each int8 row with the streamed-row input")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    rows = []
    for board in a.boards.split(","):
        names = [n for m in a.models.split(",") for n in (ZOO_MODELS if m == "zoo" else [m])]
        for m in names:
            base = None
            for dtype in a.dtypes.split(","):
                if m in INT8_ONLY and dtype != "int8":
                    continue
                try:
                    path = INT8_MODELS.get(m, MODELS[m]) if dtype == "int8" else MODELS[m]
                    row = run_one(path, board, dtype, a.kernels)
                except McuforgeError as e:  # e.g. does not fit the board
                    row = {"model": m, "board": board, "dtype": dtype, "error": str(e).splitlines()[0]}
                if "instructions" in row and dtype == "fp32":
                    base = row["instructions"]
                if "instructions" in row and dtype in ("fp16", "int8") and base:
                    row["speedup_vs_fp32"] = round(base / row["instructions"], 2)
                rows.append(row)
                if not a.json:
                    print(_line(row), flush=True)
                if dtype == "int8" and a.stream_input and "instructions" in row:
                    try:
                        rows.append(run_one(path, board, dtype, a.kernels, stream=True))
                    except McuforgeError as e:
                        rows.append({"model": m, "board": board, "dtype": "int8 streamed",
                                     "error": str(e).splitlines()[0]})
                    if not a.json:
                        print(_line(rows[-1]), flush=True)
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
