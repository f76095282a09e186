"""What writing convs over their input costs, now that kernels follow the plan: instructions and
arena of a model with the full schedule and with --no-overwrite, per board and dtype.

    python bench/overwrite.py [--boards rv32-rvv,cortex-m55-an547,stm32f746-disco] [--dtypes fp16,fp32] [--json]

Instructions in QEMU (LMUL-weighted on rv32-rvv), DS-CNN by default; each run is checked
against onnxruntime (toolchain.run.run_on_board).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from toolchain.api import CompileOptions  # noqa: E402
from toolchain.run import run_on_board  # noqa: E402

SHARED = ROOT.parent / "shared" / "models"
if not SHARED.is_dir():  # a worktree or a dev checkout: as tests/conftest.py
    SHARED = Path(os.environ.get("MCUFORGE_SHARED", "/work/shared")) / "models"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=SHARED / "dscnn_kws.onnx")
    ap.add_argument("--boards", default="rv32-rvv,cortex-m55-an547,stm32f746-disco")
    ap.add_argument("--dtypes", default="fp16,fp32")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    rows = []
    for board in a.boards.split(","):
        for dtype in a.dtypes.split(","):
            row = {"board": board, "dtype": dtype}
            for label, opts in (("default", CompileOptions()),
                                ("no_overwrite", replace(CompileOptions(), overwrite=False))):
                r = run_on_board(a.model, board, options=opts, seed=7, timeout=1800, dtype=dtype)
                row[label] = {"instructions": r.cost, "arena_bytes": r.arena_bytes, "match": r.match}
            rows.append(row)
            if not a.json:
                d, n = row["default"], row["no_overwrite"]
                print(f"{board:20s} {dtype}  default {d['instructions'] / 1e6:7.2f} M instr, "
                      f"arena {d['arena_bytes']:6d}   --no-overwrite {n['instructions'] / 1e6:7.2f} M, "
                      f"arena {n['arena_bytes']:6d}"
                      f"   match {d['match'] and n['match']}", flush=True)
    if a.json:
        print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
