"""Instructions per MAC or per element of the integer ViT kernels (mf_int8_vit.h) at the 240x240
low-rank ViT's shapes, per board, each checked bit-exact against its reference in the same
QEMU binary (tests/kernels/vit_s8.c; the kernel alone is counted, LMUL-weighted on rv32-rvv).

    python bench/qvit_kernels.py [--boards stm32f746-disco,cortex-m55-an547,rv32-rvv] [--isa board|ref] [--json]

Rows: one fused-attention block of 64 query rows of one head (226 tokens, head dim 64): the
QK^T MatMul (B as [n][k], K read in place), its softmax over 226 scores and the AV MatMul (B as
[k][n]); a 128-wide LayerNorm, the bias-row Add of a 128-wide projection and the GELU table
of a 256-wide MLP, over 64 tokens (the harness's float buffers of all 226 pass the M7's RAM). --isa ref runs the reference kernels instead (the "before" of issue
15's SIMD work for the element-wise ops).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "kernels"))

from vitharness import AddS8, LayerNormS8, LutS8, MatMulS8, SoftmaxS8, run_vit_kernel  # noqa: E402

from toolchain.boards import load_board  # noqa: E402

ISA = {"stm32f746-disco": "dsp", "cortex-m55-an547": "mve", "rv32-rvv": "rvv"}
ROWS = [("QK^T 64x226, k 64", MatMulS8(1, 64, 226, 64, b_trans=True), 64 * 226 * 64, "MAC"),
        ("softmax 64x226", SoftmaxS8(64, 226), 64 * 226, "element"),
        ("AV 64x64, k 226", MatMulS8(1, 64, 64, 226), 64 * 64 * 226, "MAC"),
        ("LayerNorm 64x128", LayerNormS8(64, 128), 64 * 128, "element"),
        ("bias-row Add 64x128", AddS8(128, rows=64), 64 * 128, "element"),
        ("GELU table 64x256", LutS8(64 * 256), 64 * 256, "element")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--boards", default=",".join(ISA))
    ap.add_argument("--isa", choices=("board", "ref"), default="board")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    out = []
    for board in a.boards.split(","):
        isa = ISA[board] if a.isa == "board" else "ref"
        for name, shape, work, unit in ROWS:
            r = run_vit_kernel(load_board(board), shape, isa, timeout=1800)
            exact = bool((r.fast == r.ref).all() and (r.ref == r.want).all())
            count = r.weighted or r.instructions
            row = {"board": board, "kernel": f"mf_{shape.op}_s8_{isa}", "case": name, "instructions": count,
                   "per": unit, "instructions_per_unit": round(count / work, 3), "bit_exact": exact}
            out.append(row)
            if not a.json:
                print(f"{board:18s} {row['kernel']:22s} {name:22s} {count:>10,d} instr  "
                      f"{row['instructions_per_unit']:6.2f} per {unit}  bit-exact {exact}", flush=True)
    if a.json:
        print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
