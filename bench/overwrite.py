"""What writing convs over their input costs, now that kernels follow the plan: instructions and
arena of a model under --prefer memory (every depthwise/pointwise conv over its input), --prefer
speed (out of place wherever it fits) and the default (the faster kernel where it still fits
the board's RAM less its stack), per board and dtype.

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
            for label, opts in (("memory", replace(CompileOptions(), prefer="memory")),
                                ("speed", replace(CompileOptions(), prefer="speed")),
                                ("default", CompileOptions())):
                r = run_on_board(a.model, board, options=opts, seed=7, timeout=1800, dtype=dtype)
                row[label] = {"instructions": r.cost, "arena_bytes": r.arena_bytes, "match": r.match}
            rows.append(row)
            if not a.json:
                cells = "   ".join(f"{k} {row[k]['instructions'] / 1e6:6.2f} M instr, arena {row[k]['arena_bytes']:6,} B"
                                   for k in ("memory", "speed", "default"))
                ok = all(row[k]["match"] for k in ("memory", "speed", "default"))
                print(f"{board:18s} {dtype}  {cells}   match {ok}", flush=True)
    if a.json:
        print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
