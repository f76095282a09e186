"""Integer requantisation, computed at compile time: the numpy twins of mf_int8.h.

A real multiplier r > 0 becomes (mult, shift) with r ~= mult * 2^(shift - 31), mult in
[2^30, 2^31), as TFLite/CMSIS-NN do; the kernels then apply it with one rounding step
(`mf_requant`). Every int8 op module builds its constants here and checks its numpy
reference against the C through these functions, so both round the same way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from toolchain.errors import UnsupportedOpError

MIN_SHIFT, MAX_SHIFT = -31, 30  # inside what mf_requant accepts; -31 keeps p + round bit < 2^63


def quantize_multiplier(r: float) -> tuple[int, int]:
    """r -> (mult, shift), r = mult * 2^(shift - 31) to 31 bits. Tiny r gives (0, 0)."""
    if not math.isfinite(r) or r < 0:
        raise UnsupportedOpError(f"requantisation scale {r} is not a finite non-negative number")
    if r == 0:
        return 0, 0
    m, e = math.frexp(r)  # r = m * 2^e, m in [0.5, 1)
    mult = round(m * (1 << 31))
    if mult == 1 << 31:  # m rounded up to 1.0
        mult, e = mult // 2, e + 1
    if e < MIN_SHIFT:
        return 0, 0  # below 2^-33: every int32 accumulator rounds to 0 anyway
    if e > MAX_SHIFT:
        raise UnsupportedOpError(f"requantisation scale {r:.4g} is too large (> 2^{MAX_SHIFT})")
    return int(mult), int(e)


def requant(acc: np.ndarray, mult: np.ndarray | int, shift: np.ndarray | int) -> np.ndarray:
    """Twin of mf_requant: round(acc * mult * 2^(shift-31)), ties towards +inf, in int64
    (Python ints where the product would not fit)."""
    acc = np.asarray(acc, dtype=np.int64)
    mult = np.broadcast_to(np.asarray(mult, dtype=np.int64), acc.shape)
    rs = np.broadcast_to(31 - np.asarray(shift, dtype=np.int64), acc.shape)
    p = acc * mult  # |acc| < 2^31, mult < 2^31: fits int64
    return ((p + (np.int64(1) << (rs - 1))) >> rs).astype(np.int64)


def requant_even(acc: np.ndarray, mult: np.ndarray | int, shift: np.ndarray | int) -> np.ndarray:
    """Twin of mf_requant_even: the same product, rounded to nearest with ties to even."""
    acc = np.asarray(acc, dtype=np.int64)
    mult = np.broadcast_to(np.asarray(mult, dtype=np.int64), acc.shape)
    rs = np.broadcast_to(31 - np.asarray(shift, dtype=np.int64), acc.shape)
    p = acc * mult
    q = p >> rs
    rem = p - (q << rs)
    half = np.int64(1) << (rs - 1)
    return (q + ((rem > half) | ((rem == half) & (q & 1 == 1)))).astype(np.int64)


def clamp_s8(v: np.ndarray, lo: int = -128, hi: int = 127) -> np.ndarray:
    return np.clip(v, lo, hi).astype(np.int8)


@dataclass(frozen=True)
class Requant:
    """The output side of a requantising kernel (mf_requant_s8): per channel or one entry."""

    mult: tuple[int, ...]
    shift: tuple[int, ...]
    out_zp: int
    act_min: int = -128
    act_max: int = 127

    @property
    def per_channel(self) -> bool:
        return len(self.mult) > 1

    @classmethod
    def from_scales(cls, real: np.ndarray | list[float] | float, out_zp: int, act_min: int = -128,
                    act_max: int = 127) -> "Requant":
        ms = [quantize_multiplier(float(r)) for r in np.atleast_1d(np.asarray(real, dtype=np.float64))]
        return cls(tuple(m for m, _ in ms), tuple(s for _, s in ms), int(out_zp), int(act_min), int(act_max))

    def apply(self, acc: np.ndarray, channel_axis: int = 1, ties_even: bool = False) -> np.ndarray:
        """clamp(out_zp + requant(acc)) with per-channel constants along channel_axis
        (ties_even: mf_requant_even instead of mf_requant)."""
        acc = np.asarray(acc, dtype=np.int64)
        mult, shift = np.asarray(self.mult, np.int64), np.asarray(self.shift, np.int64)
        if self.per_channel:
            shape = [1] * acc.ndim
            shape[channel_axis] = -1
            mult, shift = mult.reshape(shape), shift.reshape(shape)
        else:
            mult, shift = mult[0], shift[0]
        rounded = (requant_even if ties_even else requant)(acc, mult, shift)
        return clamp_s8(self.out_zp + rounded, self.act_min, self.act_max)

    def struct_fields(self) -> dict:
        """Field values of mf_requant_s8 for codegen (tables become IntArray)."""
        from toolchain.ops.base import IntArray, lit

        return dict(mult=IntArray(self.mult, "scale"), shift=IntArray(self.shift, "scale"),
                    per_channel=lit(int(self.per_channel)), out_zp=lit(self.out_zp),
                    act_min=lit(self.act_min), act_max=lit(self.act_max))


def act_range(kind: str, out_scale: float, out_zp: int, lo: float | None = None,
              hi: float | None = None) -> tuple[int, int]:
    """int8 bounds of a ReLU / Clip folded into the requantisation (none: full range)."""
    qmin, qmax = -128, 127
    if kind == "relu":
        qmin = max(qmin, out_zp)
    elif kind == "clip":
        if lo is not None:
            qmin = max(qmin, out_zp + int(np.round(lo / out_scale)))
        if hi is not None:
            qmax = min(qmax, out_zp + int(np.round(hi / out_scale)))
    return qmin, qmax
