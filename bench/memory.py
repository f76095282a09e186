"""Arena figures per model: what the MCUFormer-style schedule saves over op-by-op planning.

    python bench/memory.py [--json] [--no-zoo] [models...]

Rows: the reference models, then the test zoo's ViTs (timm, Hugging Face, torch.nn, Keras via
tf2onnx; --no-zoo leaves them out). Columns (bytes): no-reuse sum of every activation; the
op-by-op lower bound (max over nodes of inputs + outputs, what any op-by-op runtime needs); the
op-by-op greedy arena (TFLM-style: BN and activations folded as a TFLite converter does, each
op's output its own buffer, greedy-by-size placement); our arena (the smallest of the competing
schedules: operator integration, token overwriting, patch-embedding decomposition, in-place
ops, residual convs over their skip, depthwise/pointwise convs over their input, scratch
planned in the arena; or op by op when that is smaller); the ratios ours / greedy and ours /
op-by-op bound; the kept schedule and the peak node; and the model input's size, which bounds
the arena from below when the whole input must be present at the start (the ViTs here).

--fp16 adds the FP16 rows (issue 13): the example low-rank ViT and the Hugging Face one built
for the FP16 SIMD boards' kernels (rv32-rvv, cortex-m55-an547), whole input and streamed
(--stream-input: the image arrives row by row), each against the FP16 op-by-op bound.

Then MobileNetV1-0.25 (VWW) with its input whole or streamed, each without and with the
patch-based first stage (--patch-stage auto; its layers, bands and recompute in the schedule
column).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from toolchain.api import CompileOptions, compile_model  # noqa: E402
from toolchain.boards import load_board  # noqa: E402
from toolchain.codegen.target import kernel_target  # noqa: E402
from toolchain.memory.report import naive_bytes, op_by_op_bound  # noqa: E402

SHARED = ROOT.parent / "shared" / "models"
if not SHARED.is_dir():  # a worktree or a dev checkout: the same fallback as tests/conftest.py
    SHARED = Path(os.environ.get("MCUFORGE_SHARED", "/work/shared")) / "models"
DEFAULT = [SHARED / "resnet8_cifar10.onnx", SHARED / "dscnn_kws.onnx", ROOT / "examples" / "vit_tiny_opset18.onnx",
           ROOT / "examples" / "lowrank_vit_112.onnx",
           # int8 (MLPerf Tiny full-integer files): 1-byte activations, the same schedule
           SHARED / "resnet8_int8.onnx", SHARED / "dscnn_kws_int8.onnx"]
# ViTs as timm, Hugging Face, torch.nn and Keras (tf2onnx) export them: tests/zoo/make_zoo.py
ZOO = ROOT / "tests" / "zoo"
ZOO_ROWS = ["timm_vit_legacy", "timm_vit_dynamo", "timm_vit_opset23", "hf_vit_eager", "hf_vit_sdpa_dynamo",
            "torch_encoder_legacy", "torch_encoder_dynamo", "torch_mha_legacy", "torch_mha_mask_dynamo",
            "keras_mha_tf2onnx", "keras_mha_einsum_tf2onnx", "torch_einsum_legacy", "ad_autoencoder"]


FP16_MODELS = [ROOT / "examples" / "vit_tiny_opset18.onnx", ROOT / "examples" / "lowrank_vit_112.onnx",
               ZOO / "hf_vit_eager.onnx"]
FP16_BOARDS = ["rv32-rvv", "cortex-m55-an547"]

VWW = ROOT / "examples" / "vww_mobilenet_v1_025.onnx"
# MobileNetV1-0.25 (MLPerf Tiny VWW) before/after issue 19's patch-based first stage: the input
# whole or streamed by rows (--stream-input), without and with the stage (--patch-stage auto)
VARIANTS = [(VWW, "vww", CompileOptions()), (VWW, "vww streamed", CompileOptions(stream_input=True)),
            (VWW, "vww patched", CompileOptions(patch_stage="auto")),
            (VWW, "vww streamed+patched", CompileOptions(stream_input=True, patch_stage="auto"))]


def measure(path: Path, label: str = "", options: CompileOptions = CompileOptions()) -> dict:
    ours = compile_model(path, options=options)
    greedy = compile_model(path, options=CompileOptions.schedule("naive", target=options.target))
    g = greedy.graph
    peak = ours.peak_node()
    ps = ours.patch
    patch = (f" + patch {len(ps.layers)} layers in {ps.bands} bands of {ps.rows} rows, recompute "
             f"{ps.recompute_pct:.1f}% of its MACs" if ps else "")
    form = ours.report()["attention_form"] if ours.schedule == "mcuformer" else None
    patch += f" (attention {form})" if form else ""
    return {"model": label or path.stem, "naive_sum": naive_bytes(g), "op_by_op_bound": op_by_op_bound(g),
            "greedy_arena": greedy.arena_bytes, "arena": ours.arena_bytes,
            "ratio": round(ours.arena_bytes / greedy.arena_bytes, 3),
            "bound_ratio": round(ours.arena_bytes / op_by_op_bound(g), 3), "schedule": ours.schedule + patch,
            "input_bytes": sum(g.tensors[i].nbytes for i in g.inputs),
            "peak_node": f"{peak.op} {peak.name[-40:]}" if peak else "",
            "patch_stage": ps.report() if ps else None}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="*", type=Path)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--no-zoo", action="store_true", help="only the reference models, not tests/zoo")
    ap.add_argument("--fp16", action="store_true", help="also the FP16 ViT rows, whole and streamed input")
    args = ap.parse_args()
    default = DEFAULT + ([] if args.no_zoo else [ZOO / f"{n}.onnx" for n in ZOO_ROWS])
    rows = [measure(p) for p in (args.models or default) if p.is_file()]
    if args.fp16:
        rows += [measure(p, f"{p.stem} fp16 {b}{' streamed' if s else ''}",
                         CompileOptions(stream_input=s, target=kernel_target(load_board(b), "fp16")))
                 for p in FP16_MODELS for b in FP16_BOARDS for s in (False, True)]
    if not args.models and VWW.is_file():
        rows += [measure(p, label, o) for p, label, o in VARIANTS]
    if args.json:
        print(json.dumps(rows, indent=1))
        return
    print(f"{'model':<44}{'no reuse':>10}{'op bound':>10}{'greedy':>10}{'ours':>10}{'ratio':>7}{'/bound':>7}"
          f"{'input':>9}  schedule, peak node")
    for r in rows:
        print(f"{r['model'][:43]:<44}{r['naive_sum']:>10,}{r['op_by_op_bound']:>10,}{r['greedy_arena']:>10,}"
              f"{r['arena']:>10,}{r['ratio']:>7.3f}{r['bound_ratio']:>7.3f}{r['input_bytes']:>9,}  "
              f"{r['schedule']}, {r['peak_node']}")


if __name__ == "__main__":
    main()
