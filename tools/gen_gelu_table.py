"""Writes runtime_c/src/gelu_table_f32.inc: GELU on [-6, 6) as 192 Hermite cubics of width 1/16
(values and slopes from math.erf in double), for the M4/M7 token chains (transformer_f32_dsp.c).

    python tools/gen_gelu_table.py   # prints the worst error, relative to max(1, |x|)
"""

from __future__ import annotations

import math
import struct
from pathlib import Path

LO, STEPS_PER_UNIT, N = -6.0, 16, 192
OUT = Path(__file__).resolve().parents[1] / "runtime_c" / "src" / "gelu_table_f32.inc"


def gelu(x: float) -> float:
    return 0.5 * x * (1.0 + math.erf(x / math.sqrt(2.0)))


def slope(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0))) + x * math.exp(-x * x / 2.0) / math.sqrt(2.0 * math.pi)


def f32(v: float) -> float:
    return struct.unpack("<f", struct.pack("<f", v))[0]


def rows() -> list[tuple[float, float, float, float]]:
    h = 1.0 / STEPS_PER_UNIT
    out = []
    for i in range(N):
        x0, x1 = LO + i * h, LO + (i + 1) * h
        y0, y1, d0, d1 = gelu(x0), gelu(x1), slope(x0) * h, slope(x1) * h
        out.append((y0, d0, 3 * (y1 - y0) - 2 * d0 - d1, 2 * (y0 - y1) + d0 + d1))
    return out


def worst(table: list[tuple[float, float, float, float]], samples: int = 200_000) -> float:
    err = 0.0
    for k in range(samples):
        x = LO + (2 * -LO) * k / samples
        u = (x - LO) * STEPS_PER_UNIT
        i = int(u)
        c = [f32(v) for v in table[i]]
        t = u - i
        err = max(err, abs(c[0] + t * (c[1] + t * (c[2] + t * c[3])) - gelu(x)) / max(1.0, abs(x)))
    return err


def main() -> None:
    table = rows()
    lines = ["/* GELU(x) = x/2 (1 + erf(x / sqrt 2)) on [-6, 6) as 192 cubic pieces of width 1/16: row i holds",
             " * c0..c3 of GELU(-6 + (i + t) / 16) = c0 + c1 t + c2 t^2 + c3 t^3, t in [0, 1), the Hermite cubic",
             " * through the values and slopes at both ends (error below 1e-7 * max(1, |x|) against double).",
             " * Written by tools/gen_gelu_table.py; 3 KB of flash. */",
             "static const float gelu_tab[192][4] = {"]
    lines += ["    {" + ", ".join(f"{v:.9e}f" for v in r) + "}," for r in table]
    OUT.write_text("\n".join(lines + ["};"]) + "\n")
    print(f"{OUT.name}: worst error {worst(table):.2e} x max(1, |x|)")


if __name__ == "__main__":
    main()
