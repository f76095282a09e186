"""Patch-based first stages (issue 19, MCUNetV2): arena, recompute and, with --sim, instructions.

    python bench/patch_stage.py [--sim] [--board stm32f746-disco] [--json]

Rows: MobileNetV1-0.25 (VWW, examples/vww_mobilenet_v1_025.onnx) FP32 and int8 (quantised on
the fly, --int-input), the image whole or streamed by rows, without a stage (--patch-stage off),
with the smallest arena (auto) and with the least recompute that fits a 128 KB board (fit, the
STM32F405's RAM less its stack). Columns: arena, the op-by-op bound and the ratio, the stage
(layers, bands x rows), its recompute (% of the stage's MACs) and the model's MACs; with --sim
the instructions of one inference on the board in QEMU (the fit rows on the F405, whose RAM
they stand for) and whether it matched onnxruntime.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from toolchain.api import CompileOptions, compile_model  # noqa: E402
from toolchain.boards import load_board  # noqa: E402

VWW = ROOT / "examples" / "vww_mobilenet_v1_025.onnx"
F405 = load_board("stm32f405-netduinoplus2")
BUDGET_128K = F405.memory.ram.size - F405.memory.stack_size - 1024  # what run/build's fit uses


def rows() -> list[tuple[str, str, CompileOptions]]:
    out = []
    for dtype in ("fp32", "int8"):
        for stream in (False, True):
            base = CompileOptions(stream_input=stream, int_input=dtype == "int8")
            for stage, o in (("off", replace(base, patch_stage="off")), ("auto", replace(base, patch_stage="auto")),
                             ("fit 128K", replace(base, ram_budget=BUDGET_128K))):
                out.append((f"vww {dtype} {'streamed' if stream else 'whole'} {stage}", dtype, o))
    return out


def measure(label: str, dtype: str, o: CompileOptions, sim: bool, board: str) -> dict:
    from toolchain.quantize import int8_model

    with tempfile.TemporaryDirectory() as tmp:
        _, model = int8_model(str(VWW), dtype, Path(tmp), 0)
        cm = compile_model(model, options=o)
        ps = cm.patch
        row = {"row": label, "arena": cm.arena_bytes, "bound": cm.op_by_op_bytes,
               "ratio": round(cm.arena_bytes / cm.op_by_op_bytes, 3), "macs": cm.macs,
               "stage": f"{len(ps.layers)} layers, {ps.bands} x {ps.rows} rows" if ps else "-",
               "recompute_pct": round(ps.recompute_pct, 1) if ps else 0.0}
        if sim:
            from toolchain.run import run_on_board

            # run/build set the budget from the board: a fit row runs on the 128 KB F405
            from toolchain.sim.errors import BudgetError

            on = F405.name if o.ram_budget else board
            try:
                r = run_on_board(str(VWW), on, Path(tmp) / "run", None, o, 0, dtype=dtype)
                row.update(board=on, instructions=r.cost, match=r.match, ram=r.ram_bytes)
            except BudgetError as e:  # the whole image alone leaves too little of 128 KB
                row.update(board=on, instructions=0, match=f"does not fit: {str(e)[:40]}", ram=0)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sim", action="store_true", help="also run each row on --board in QEMU")
    ap.add_argument("--board", default="stm32f746-disco")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    out = [measure(label, dt, o, args.sim, args.board) for label, dt, o in rows()]
    if args.json:
        print(json.dumps(out, indent=1))
        return
    print(f"{'row':<30}{'arena':>9}{'bound':>9}{'ratio':>7}  {'stage':<24}{'recomp%':>8}{'MACs':>12}"
          + (f"{'instructions':>14}  match" if args.sim else ""))
    for r in out:
        print(f"{r['row']:<30}{r['arena']:>9,}{r['bound']:>9,}{r['ratio']:>7.3f}  {r['stage']:<24}"
              f"{r['recompute_pct']:>8.1f}{r['macs']:>12,}"
              + (f"{r['instructions']:>14,}  {r['match']} ({r['board']})" if args.sim else ""))


if __name__ == "__main__":
    main()
