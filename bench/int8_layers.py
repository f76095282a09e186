"""Instructions of the int8 SIMD kernels over the conv and fully connected layers of the
MLPerf Tiny int8 models (ResNet-8 and DS-CNN, shapes as in ../shared/models/*_int8.onnx),
per board, each layer run alone in QEMU and checked bit-exact against the int8 reference.

    python bench/int8_layers.py [--boards stm32f746-disco,cortex-m55-an547,rv32-rvv] [--models resnet8,dscnn] [--json]

This is the MAC-carrying part of a whole-model count only: the adds, pooling, softmax and
requantisation steps between layers (issue 14's other kernels) and the call overhead of the
generated model are not in it. Counts are exact (QEMU TCG plugin), LMUL-weighted on rv32-rvv;
instruction count is a proxy for cycles, not cycles.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "kernels"))

from s8harness import ConvS8, FcS8, run_s8, s8_isa  # noqa: E402
from toolchain.boards import load_board  # noqa: E402
from toolchain.sim.errors import BudgetError  # noqa: E402

P1, P0, SAME2 = (1, 1, 1, 1), (0, 0, 0, 0), (0, 0, 1, 1)  # TF SAME at stride 2 pads bottom/right
MODELS = {
    "resnet8": [ConvS8(3, 16, 32, 32, pads=P1), ConvS8(16, 16, 32, 32, pads=P1), ConvS8(16, 16, 32, 32, pads=P1),
                ConvS8(16, 32, 32, 32, k=(1, 1), stride=(2, 2), pads=P0),
                ConvS8(16, 32, 32, 32, stride=(2, 2), pads=SAME2), ConvS8(32, 32, 16, 16, pads=P1),
                ConvS8(32, 64, 16, 16, k=(1, 1), stride=(2, 2), pads=P0),
                ConvS8(32, 64, 16, 16, stride=(2, 2), pads=SAME2), ConvS8(64, 64, 8, 8, pads=P1),
                FcS8(1, 10, 64)],
    "dscnn": [ConvS8(1, 64, 49, 10, k=(10, 4), stride=(2, 2), pads=(4, 1, 5, 1)),
              *[s for _ in range(4) for s in (ConvS8(64, 64, 25, 5, groups=64, pads=P1),
                                               ConvS8(64, 64, 25, 5, k=(1, 1), pads=P0))],
              FcS8(1, 12, 64)],
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--boards", default="stm32f746-disco,cortex-m55-an547,rv32-rvv")
    ap.add_argument("--models", default="resnet8,dscnn")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    rows = []
    for name in a.boards.split(","):
        board = load_board(name)
        isa = s8_isa(board)
        if isa is None:
            print(f"error: board {name} has no int8 SIMD kernels", file=sys.stderr)
            raise SystemExit(2)
        for model in a.models.split(","):
            instr = macs = 0
            for shape in MODELS[model]:
                # as the lowering passes them: the DSP conv's compile-time widened weights
                # (ops/qconv.py dsp_weights_arg; depthwise layers read w)
                # (the harness holds its inputs as float arrays in RAM: where the widened copy
                # does not fit beside them, the layer runs with the int8 weights, marked *)
                note = ""
                if isinstance(shape, ConvS8) and not shape.depthwise and isa == "dsp":
                    try:
                        r = run_s8(board, replace(shape, w_dsp=True), isa)
                    except BudgetError:
                        r, note = run_s8(board, shape, isa), " *"
                else:
                    r = run_s8(board, shape, isa)
                if not (r.fast == r.ref).all() or not (r.ref == r.want).all():
                    raise SystemExit(f"error: {shape} on {name} differs from the int8 reference")
                n = r.weighted or r.instructions
                instr, macs = instr + n, macs + r.macs
                if not a.json:
                    print(f"  {name:18s} {model:8s} {str(shape):52s} {r.macs:9d} MACs {n:10d} instr "
                          f"{n / r.macs:5.2f} instr/MAC{note}", flush=True)
            rows.append({"board": name, "model": model, "isa": isa, "macs": macs, "instructions": instr,
                         "instr_per_mac": round(instr / macs, 3), "macs_per_instr": round(macs / instr, 3),
                         "count": "LMUL-weighted" if board.core.simd == "rvv" else "plain"})
            if not a.json:
                x = rows[-1]
                print(f"{name:18s} {model:8s} conv+fc layers: {macs / 1e6:.2f} M MACs, {instr / 1e6:.2f} M instr "
                      f"({x['count']}), {x['instr_per_mac']:.2f} instr/MAC = {x['macs_per_instr']:.2f} MACs/instr",
                      flush=True)
    if a.json:
        print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
