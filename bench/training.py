"""Instructions per training step in QEMU (FP32 reference kernels): ResNet-8 and DS-CNN, full
backprop and last-layers fine-tuning, on each simulated board, with MACs per instruction.

    python bench/training.py [--steps 2] [--boards stm32f746-disco,rv32-rvv] [--json]

A step that does not fit a board's RAM is printed as such (the DoesNotFitError line).
FP16 SIMD vs FP32 (the paper's 1.72x for a Conv2D step) needs the FP16 backward kernels,
which do not exist yet: that column is not printed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from toolchain.errors import McuforgeError  # noqa: E402
from toolchain.train.api import train  # noqa: E402

SHARED = ROOT.parent / "shared" / "models"
MODELS = {"resnet8": SHARED / "resnet8_cifar10.onnx", "dscnn": SHARED / "dscnn_kws.onnx"}
MODES = {"full": "all", "last-layers": "last:2"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=2)
    ap.add_argument("--boards", default="stm32f746-disco,rv32-rvv")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    rows = []
    for board in a.boards.split(","):
        for model, path in MODELS.items():
            for mode, trainable in MODES.items():
                row = {"board": board, "model": model, "mode": mode, "trainable": trainable}
                try:
                    r = train(path, trainable, steps=a.steps, board=board, lr=0.01, reference=True)
                except McuforgeError as e:  # DoesNotFitError, or the firmware's BudgetError
                    row["error"] = str(e)
                    rows.append(row)
                    print(f"{board:16s} {model:8s} {mode:12s} does not fit: {e}", flush=True)
                    continue
                macs = r.report["macs_forward"] + r.report["macs_backward"]
                row |= {"instructions_per_step": r.instructions_per_step, "macs_per_step": macs,
                        "macs_per_instruction": macs / r.instructions_per_step,
                        "peak_ram_bytes": r.peak_ram_bytes, "match": r.match}
                rows.append(row)
                print(f"{board:16s} {model:8s} {mode:12s} {r.instructions_per_step:14,.0f} instr/step  "
                      f"{macs:11,} MACs  {row['macs_per_instruction']:.3f} MAC/instr  "
                      f"peak RAM {r.peak_ram_bytes:,} B  match {r.match}", flush=True)
    if a.json:
        print(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
