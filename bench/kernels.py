"""MACs per executed instruction of the compute kernels, per board, next to the ISA's peak.

    python bench/kernels.py [--boards rv32-rvv,cortex-m55-an547,stm32f746-disco] [--only f|s8] [--json]

Rows: matmul 64x64x64, conv 3x3 (16->16 on 16x16, pad 1) and depthwise 3x3 (64 channels on
25x5, DS-CNN's shape; 16 channels on 24x24 at stride 2, pad 1, a VWW-like layer; the DS-CNN
shape and the stride-2 one written over their own input by the overwrite kernel), in FP32 scalar (ref and the
register-blocked `dsp` kernels), FP32 SIMD
and FP16 SIMD where the board's core has them. int8 rows (mf_*_s8_<isa>: SMLAD on Cortex-M
DSP cores, VMLADAVA on Helium, vwmacc on RVV; tests/kernels/model_s8.c): conv 3x3 16->16 on
16x16 and 64->64 on 8x8 (ResNet-8's first and last stages), depthwise 3x3 and pointwise
64->64 on 25x5 (DS-CNN's), and a 256->64 fully connected layer; each run is also checked
bit-exact against the int8 reference. Counts are exact (QEMU TCG plugin, kernel only,
see tests/kernels/model.c); on rv32-rvv they are LMUL-weighted (a vector instruction at LMUL=m
counts m), on Helium plain (every MVE instruction is 128 bits). Instruction count is a proxy for
cycles, not cycles.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "kernels"))

from kharness import Conv, Gemm, run_kernel  # noqa: E402
from s8harness import ConvS8, FcS8, run_s8, s8_isa  # noqa: E402
from toolchain.boards import load_board  # noqa: E402
from toolchain.ops import REGISTRY  # noqa: E402,F401  (registers every family's kernels)
from toolchain.ops.kernel_table import available  # noqa: E402

SHAPES = {"matmul 64x64x64": Gemm(64, 64, 64), "conv 3x3 16->16 16x16": Conv(16, 16, 16, 16),
          "depthwise 3x3 64ch 25x5": Conv(64, 64, 25, 5, groups=64),
          "depthwise 3x3 s2 16ch 24x24": Conv(16, 16, 24, 24, groups=16, stride=2)}
INPLACE = {"depthwise 3x3 64ch 25x5 in place": Conv(64, 64, 25, 5, groups=64),
           "depthwise 3x3 s2 16ch 24x24 in place": Conv(16, 16, 24, 24, groups=16, stride=2)}


S8_SHAPES = {"s8 conv 3x3 16->16 16x16": ConvS8(16, 16, 16, 16),
             "s8 conv 3x3 64->64 8x8": ConvS8(64, 64, 8, 8),
             "s8 depthwise 3x3 64ch 25x5": ConvS8(64, 64, 25, 5, groups=64),
             "s8 pointwise 64->64 25x5": ConvS8(64, 64, 25, 5, k=(1, 1), pads=(0, 0, 0, 0)),
             "s8 fc 256->64": FcS8(1, 64, 256)}


def s8_peak(isa: str) -> str:
    return {"dsp": "2 MACs/SMLAD; ~1.1 with the 1x6 tile's loads and widening",
            "mve": "16 MACs/VMLADAVA; ~8 with the 2x3 tile's loads",
            "rvv": "8 MACs/vwmacc (e16, LMUL-weighted); ~4 with the scalar weight loads"}[isa]


def peak(board_simd: str, vlen: int | None, dtype: str) -> str:
    """What an outer-product micro-kernel with one scalar load per broadcast tends to."""
    if board_simd == "rvv":
        lanes = (vlen or 128) // (16 if dtype == "f16" else 32)
        return f"{lanes} MACs/vfmacc (LMUL=1); ~{lanes // 2} with its scalar load"
    if board_simd == "mve":
        lanes = 8 if dtype == "f16" else 4
        return f"{lanes} MACs/vfma; ~{lanes // 2} with its scalar load"
    return "1 MAC/VFMA; ~0.67 with loads (4x4 tile: 8 loads per 16 FMAs)"


def variants(simd: str) -> list[tuple[str, str]]:
    out = [("f32", "ref"), ("f32", "dsp")]
    if simd in ("rvv", "mve"):
        out += [("f32", simd), ("f16", simd)]
    have = available()
    return [(dt, isa) for dt, isa in out if f"mf_gemm_{dt}_{isa}" in have]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--boards", default="stm32f746-disco,rv32-rvv,cortex-m55-an547")
    ap.add_argument("--only", choices=("f", "s8"), default=None, help="float rows or int8 rows only")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    rows = []
    for name in a.boards.split(","):
        board = load_board(name)
        weighted = board.core.simd == "rvv"
        for dtype, isa in (variants(board.core.simd) if a.only != "s8" else []):
            overwrite = isa != "ref" and f"mf_conv2d_overwrite_{dtype}_{isa}" in available()
            for label, shape in list(SHAPES.items()) + (list(INPLACE.items()) if overwrite else []):
                r = run_kernel(board, shape, dtype, isa, inplace=label in INPLACE)
                rows.append({"board": name, "kernel": label, "dtype": dtype, "isa": isa,
                             "macs": r.macs, "instructions": r.instructions, "weighted": r.weighted,
                             "macs_per_instr": round(r.macs_per_instruction, 3),
                             "count": "LMUL-weighted" if weighted else "plain",
                             "peak": peak(board.core.simd if isa != "dsp" and isa != "ref" else "none",
                                          board.core.vlen_bits, dtype)})
                if not a.json:
                    x = rows[-1]
                    print(f"{name:18s} {label:24s} {dtype}-{isa:4s} {x['macs_per_instr']:6.2f} MACs/instr "
                          f"({x['count']}; {r.weighted or r.instructions} instr)  peak: {x['peak']}", flush=True)
        isa = s8_isa(board)
        for label, shape in (S8_SHAPES.items() if a.only != "f" and isa else []):
            r = run_s8(board, shape, isa)
            if not (r.fast == r.ref).all() or not (r.ref == r.want).all():
                raise SystemExit(f"error: {label} on {name}: mf_{shape.op}_s8_{isa} differs from the reference")
            rows.append({"board": name, "kernel": label, "dtype": "s8", "isa": isa, "macs": r.macs,
                         "instructions": r.instructions, "weighted": r.weighted,
                         "macs_per_instr": round(r.macs_per_instruction, 3),
                         "count": "LMUL-weighted" if weighted else "plain", "peak": s8_peak(isa)})
            if not a.json:
                x = rows[-1]
                print(f"{name:18s} {label:28s} s8-{isa:4s} {x['macs_per_instr']:6.2f} MACs/instr "
                      f"({x['count']}; {r.weighted or r.instructions} instr)  peak: {x['peak']}", flush=True)
    if a.json:
        print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
