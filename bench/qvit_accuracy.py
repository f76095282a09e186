"""Accuracy of a 240x240 int8 ViT on held-out digits, and how far the integer C is from
onnxruntime running the same QDQ file.

    python examples/lowrank_vit.py --config mcuformer240 --digits --out /tmp/vit240.onnx --int8 /tmp/vit240_int8.onnx
    python bench/qvit_accuracy.py [--model /tmp/vit240_int8.onnx] [--float /tmp/vit240.onnx] [--count 360] [--census 2] [--json]

(--model defaults to the committed examples/lowrank_vit_240_int8.onnx, which is that
digits-trained file; the float file is not committed: the first command writes it.)

Prints the top-1 accuracy over the first --count images of the held-out split (360 digits
resized to 240x240, examples/lowrank_vit.py's digits) of: the float model (--float, the ONNX
file lowrank_vit.py exported before quantising; not committed), onnxruntime running the int8
file as written (optimisations off: every region float, then QuantizeLinear) and as it
deploys it (its QDQ fusions), and the generated C on the host (the same integer kernels as
the boards; tests/test_qvit.py checks the M7 build bit for bit against it). Then how often
our top-1 equals onnxruntime's and the largest logit distance in LSBs; then, with --census N,
each op in isolation on onnxruntime's inputs for N held-out digits (toolchain/int8exact.py):
outputs that differ from onnxruntime and, for the ops with a float64 twin, from the correctly
rounded value. Needs PyTorch (the resize; pip install -e .[nas]).
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
sys.path.insert(0, str(ROOT / "examples"))

MODEL = ROOT / "examples" / "lowrank_vit_240_int8.onnx"


def main() -> None:
    import onnx
    import onnxruntime as ort
    from lowrank_vit import digits

    from toolchain.api import CompileOptions, compile_graph, compile_model, write_sources
    from toolchain.build.host import build_host, run_host
    from toolchain.frontend import load_onnx
    from toolchain.int8check import lsb_tolerances, ort_with_intermediates, with_intermediate_outputs
    from toolchain.int8exact import OPS, op_census

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=MODEL, help="the int8 QDQ file (int8 input)")
    ap.add_argument("--float", type=Path, help="the float ONNX file, for its accuracy")
    ap.add_argument("--count", type=int, default=360)
    ap.add_argument("--census", type=int, default=0, help="held-out digits for the per-op census")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    path = a.model

    cm = compile_model(path)
    q = cm.graph.tensors[cm.graph.inputs[0]].quant
    lsb = lsb_tolerances(cm.graph)[0]
    model = onnx.load(str(path))
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    deployed = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    as_written = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    fl = ort.InferenceSession(str(a.float), providers=["CPUExecutionProvider"]) if a.float else None
    right = {"float": 0, "ort_as_written": 0, "ort_deployed": 0, "ours": 0}
    agree, worst, n, differ = 0, 0.0, 0, []
    with tempfile.TemporaryDirectory() as tmp:
        exe = build_host(write_sources(cm, Path(tmp)), 1)
        for start in range(0, a.count, 40):
            xs, ys = digits("test", 240, start, min(40, a.count - start))
            for x, y in zip(xs, ys):
                xq = np.clip(np.round(x[None] / q.s) + q.zp, -128, 127).astype(np.int8)
                ours = run_host(exe, [xq], [10])[0]
                ref = as_written.run(None, {cm.graph.inputs[0]: xq})[0].ravel()
                dep = deployed.run(None, {cm.graph.inputs[0]: xq})[0].ravel()
                if fl is not None:
                    right["float"] += int(fl.run(None, {fl.get_inputs()[0].name: x[None]})[0].argmax() == y)
                right["ours"] += int(ours.argmax() == y)
                right["ort_as_written"] += int(ref.argmax() == y)
                right["ort_deployed"] += int(dep.argmax() == y)
                agree += int(ours.argmax() == ref.argmax())
                if ours.argmax() != ref.argmax():  # onnxruntime's own top-2 margin says how near a tie it was
                    top2 = np.sort(ref)[-2:]
                    differ.append({"index": n, "label": int(y), "ours": int(ours.argmax()), "ort": int(ref.argmax()),
                                   "ort_margin_lsb": round(float(top2[1] - top2[0]) / lsb, 2)})
                worst = max(worst, float(np.abs(ours - ref).max() / lsb))
                n += 1
    result = {"images": n, "accuracy": {k: v / n for k, v in right.items() if k != "float" or fl is not None},
              "top1_equal_to_ort_as_written": agree, "max_logit_lsb_vs_ort_as_written": round(worst, 2),
              "top1_differs": differ,
              "lsb": lsb}
    if a.census:
        g = compile_graph(with_intermediate_outputs(load_onnx(path), model), CompileOptions(integrate=False)).graph
        xs, _ = digits("test", 240, 0, a.census)
        c = None
        for x in xs:
            feeds = {g.inputs[0]: np.clip(np.round(x[None] / q.s) + q.zp, -128, 127).astype(np.int8)}
            c = op_census(g, ort_with_intermediates(model, g.outputs, feeds), feeds, c)
        result["census"] = {k: {"outputs": c.outputs[k], "differ_from_ort": c.ours_vs_ort[k], "max_lsb": c.max_lsb[k],
                                **({"ours_not_exact": c.ours_vs_exact[k], "ort_not_exact": c.ort_vs_exact[k]}
                                   if k in OPS else {})} for k in sorted(c.outputs)}
    if a.json:
        print(json.dumps(result))
        return
    print(f"{path.name}: {n} held-out digits at 240x240")
    for k, v in result["accuracy"].items():
        print(f"  top-1 accuracy {k:<15} {v:.4f}")
    print(f"  our top-1 = onnxruntime as written on {agree} of {n}; logits at most {worst:.0f} LSB apart (LSB {lsb:.4g})")
    for d in differ:
        print(f"  held-out digit {d['index']} (label {d['label']}): ours {d['ours']}, onnxruntime {d['ort']}, "
              f"whose top-2 margin is {d['ort_margin_lsb']} LSB")
    for k, r in result.get("census", {}).items():
        tail = f", not the float64 value rounded: ours {r['ours_not_exact']}, onnxruntime {r['ort_not_exact']}" \
            if "ours_not_exact" in r else ""
        print(f"  {k:<11} {r['differ_from_ort']:>6} of {r['outputs']:>9,} outputs differ from onnxruntime "
              f"(max {r['max_lsb']} LSB){tail}")


if __name__ == "__main__":
    main()
