"""The int8 conv / fully connected cases of the kernel harness (tests/kernels/model_s8.c, built
and run by harness.py): a SIMD kernel and the tests' own reference (s8_ref.c) on the same
seeded data in one binary, the SIMD kernel's instructions counted. Also the numpy statement of the mf_int8.h contract the reference is
checked against; the kernels' scratch sizes come from the kernel table's Python twins
(toolchain/ops/int8_kernels.py), which the harness checks against C on every run."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from harness import HERE, Case, HarnessError, run
from toolchain.boards import Board
from toolchain.codegen import RUNTIME
from toolchain.ops.conv import ConvShape
from toolchain.ops.int8_kernels import S8_COLS as COLS
from toolchain.ops.int8_kernels import conv_s8_scratch, fc_s8_scratch, overwrite_s8_scratch
from toolchain.ops.qconv import OVERWRITE_COLS
from toolchain.ops.kernel_table import available

@dataclass(frozen=True)
class ConvS8:
    c_in: int
    c_out: int
    h: int
    w: int
    k: tuple[int, int] = (3, 3)
    stride: tuple[int, int] = (1, 1)
    pads: tuple[int, int, int, int] = (1, 1, 1, 1)  # top, left, bottom, right
    dil: tuple[int, int] = (1, 1)
    groups: int = 1
    n: int = 1
    per_channel: bool = True
    act: str = "none"  # none | relu | clip
    big_scale: bool = False  # tiny weights, scales up to ~1: requantisation shifts of 31..33
    # output rows (first, count) only: the desc of a QConvAdd band (h_out = count, pad_top
    # lowered by first * stride_h, possibly below 0)
    band: tuple[int, int] | None = None
    overwrite: bool = False  # mf_conv2d_overwrite_s8_<isa>, run with y = x
    in_place: bool = False  # mf_conv2d_s8_<isa> run with y = x (its depthwise path allows it)
    # the desc carries the DSP kernel's compile-time widened weights (ops/qconv.py
    # dsp_weights, as the lowering passes them); other kernels ignore them
    w_dsp: bool = False

    @property
    def op(self) -> str:
        return "conv2d_overwrite" if self.overwrite else "conv2d"

    @property
    def full_hw(self) -> tuple[int, int]:
        eh, ew = (self.k[0] - 1) * self.dil[0] + 1, (self.k[1] - 1) * self.dil[1] + 1
        return ((self.h + self.pads[0] + self.pads[2] - eh) // self.stride[0] + 1,
                (self.w + self.pads[1] + self.pads[3] - ew) // self.stride[1] + 1)

    @property
    def out_hw(self) -> tuple[int, int]:
        return (self.band[1], self.full_hw[1]) if self.band else self.full_hw

    @property
    def pad_top(self) -> int:
        return self.pads[0] - (self.band[0] * self.stride[0] if self.band else 0)

    @property
    def depthwise(self) -> bool:
        return self.groups == self.c_in == self.c_out

    @property
    def kdim(self) -> int:
        return self.c_in // self.groups * self.k[0] * self.k[1]

    @property
    def channels(self) -> int:
        return self.c_out

    @property
    def macs(self) -> int:
        oh, ow = self.out_hw
        return self.n * self.c_out * oh * ow * self.kdim

    def x_shape(self) -> tuple[int, ...]:
        return (self.n, self.c_in, self.h, self.w)

    def w_shape(self) -> tuple[int, ...]:
        return (self.c_out, self.c_in // self.groups, *self.k)

    def defines(self) -> list[str]:
        oh, ow = self.out_hw
        v = {"OP": 1, "N": self.n, "CI": self.c_in, "CO": self.c_out, "H": self.h, "WI": self.w,
             "HO": oh, "WO": ow, "KH": self.k[0], "KW": self.k[1], "SH": self.stride[0],
             "SW": self.stride[1], "DH": self.dil[0], "DW": self.dil[1], "PT": self.pad_top,
             "PL": self.pads[1], "G": self.groups, "OVERWRITE": int(self.overwrite or self.in_place),
             "WDSP": int(self.w_dsp)}
        return [f"-DKS_{k}={v}" for k, v in v.items()]

    def __str__(self) -> str:
        kind = "dw" if self.depthwise else ("pw" if self.k == (1, 1) else "conv")
        return (f"{kind}{self.k[0]}x{self.k[1]}_{self.c_in}to{self.c_out}_{self.h}x{self.w}"
                f"_s{self.stride[0]}{self.stride[1]}_p{''.join(map(str, self.pads))}"
                f"_d{self.dil[0]}_g{self.groups}_n{self.n}{'' if self.per_channel else '_pt'}_{self.act}"
                f"{'_big' if self.big_scale else ''}{f'_band{self.band[0]}+{self.band[1]}' if self.band else ''}"
                f"{'_over' if self.overwrite else ''}{'_inplace' if self.in_place else ''}{'_wdsp' if self.w_dsp else ''}")


@dataclass(frozen=True)
class FcS8:
    m: int
    n: int
    k: int
    per_channel: bool = True
    act: str = "none"
    big_scale: bool = False

    op = "fc"

    @property
    def kdim(self) -> int:
        return self.k

    @property
    def channels(self) -> int:
        return self.n

    @property
    def macs(self) -> int:
        return self.m * self.n * self.k

    def x_shape(self) -> tuple[int, ...]:
        return (self.m, self.k)

    def w_shape(self) -> tuple[int, ...]:
        return (self.n, self.k)

    def defines(self) -> list[str]:
        return ["-DKS_OP=2", "-DKS_OVERWRITE=0", f"-DKS_M={self.m}", f"-DKS_NN={self.n}", f"-DKS_K={self.k}"]

    def __str__(self) -> str:
        return (f"fc_m{self.m}_n{self.n}_k{self.k}{'' if self.per_channel else '_pt'}_{self.act}"
                f"{'_big' if self.big_scale else ''}")


# ---------------------------------------------------------------- scratch twins

def conv_scratch_bytes(isa: str, c: ConvS8) -> int:
    """mf_conv2d_s8_<isa>_scratch_bytes, through the kernel table's twin."""
    shape = ConvShape(c.c_in, c.c_out, c.groups, c.k, c.stride, c.pads[:2], (c.h, c.w), c.out_hw, c.dil)
    return conv_s8_scratch(isa, shape)


def fc_scratch_bytes(isa: str, f: FcS8) -> int:
    """mf_fc_s8_<isa>_scratch_bytes, through the kernel table's twin."""
    return fc_s8_scratch(isa, f.m, f.n, f.k)


def scratch_bytes(isa: str, shape: ConvS8 | FcS8) -> int:
    if isinstance(shape, ConvS8) and shape.overwrite:
        if isa == "ref":
            return shape.c_out * OVERWRITE_COLS
        return overwrite_s8_scratch(isa, shape.c_in, shape.c_out)
    if isa == "ref":
        return 0
    return conv_scratch_bytes(isa, shape) if isinstance(shape, ConvS8) else fc_scratch_bytes(isa, shape)


# ---------------------------------------------------------------- data and the contract

@dataclass(frozen=True)
class S8Data:
    x: np.ndarray
    w: np.ndarray
    bias: np.ndarray
    mult: np.ndarray
    shift: np.ndarray
    in_zp: int
    out_zp: int
    act_min: int
    act_max: int
    per_channel: bool = field(default=True)

    def defines(self) -> list[str]:
        return [f"-DKS_IN_ZP={self.in_zp}", f"-DKS_OUT_ZP={self.out_zp}", f"-DKS_ACT_MIN={self.act_min}",
                f"-DKS_ACT_MAX={self.act_max}", f"-DKS_PER_CHANNEL={int(self.per_channel)}"]

    def inputs(self) -> list[np.ndarray]:
        xw = np.concatenate([self.x.reshape(-1), self.w.reshape(-1)]).astype(np.float32)
        ch = self.bias.size
        mult = self.mult if self.per_channel else np.resize(self.mult, ch)
        shift = self.shift if self.per_channel else np.resize(self.shift, ch)
        params = np.concatenate([self.bias, mult, shift]).astype(np.int32).view(np.float32)
        return [xw, params]


def make_data(shape: ConvS8 | FcS8, seed: int = 0) -> S8Data:
    """Seeded int8 data shaped like a quantized network's: activations around their zero
    point, symmetric weights, the bias holding -in_zp * sum(w) as mf_int8.h says, and scales
    that put the outputs in range (a few saturate, most do not)."""
    rng = np.random.default_rng(seed)
    in_zp = int(rng.integers(-128, 128)) if isinstance(shape, ConvS8) else 0
    x = np.clip(np.rint(rng.normal(in_zp, 45, shape.x_shape())), -128, 127).astype(np.int8)
    wmax = 2 if shape.big_scale else 127
    w = rng.integers(-wmax, wmax + 1, shape.w_shape()).astype(np.int8)
    ch = shape.channels
    wsum = w.reshape(ch, -1).astype(np.int64).sum(axis=1)
    braw = 30 if shape.big_scale else 3000
    bias = (rng.integers(-braw, braw, ch) - in_zp * wsum).astype(np.int32)
    nsc = ch if shape.per_channel else 1
    target, wstd = (80.0, 1.4) if shape.big_scale else (40.0, 73.0)
    scale = target / (45.0 * wstd * np.sqrt(shape.kdim)) * rng.uniform(0.5, 2.0, nsc)
    m, e = np.frexp(scale)
    mult = np.rint(m * 2.0 ** 31).astype(np.int64)
    e = np.where(mult == 2 ** 31, e + 1, e)
    mult = np.where(mult == 2 ** 31, 2 ** 30, mult)
    out_zp = int(rng.integers(-20, 21))
    lo, hi = {"none": (-128, 127), "relu": (out_zp, 127), "clip": (out_zp, min(127, out_zp + 60))}[shape.act]
    return S8Data(x, w, bias, mult.astype(np.int32), e.astype(np.int32), in_zp, out_zp, lo, hi,
                  shape.per_channel)


def requant(acc: np.ndarray, mult: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """mf_requant: round(acc * mult * 2^(shift - 31)), ties up, in exact integers."""
    rs = (31 - shift.astype(np.int64))
    p = acc.astype(np.int64) * mult.astype(np.int64)
    v = (p + (np.int64(1) << (rs - 1))) >> rs
    return ((v + 2 ** 31) % 2 ** 32 - 2 ** 31).astype(np.int64)


def contract(shape: ConvS8 | FcS8, dt: S8Data) -> np.ndarray:
    """y as mf_int8.h defines it (int64 numpy, no float)."""
    if isinstance(shape, FcS8):
        acc = dt.x.astype(np.int64) @ dt.w.astype(np.int64).T + dt.bias  # [m][n]
        chan_axis_shape = (1, -1)
    else:
        c, (oh, ow) = shape, shape.full_hw
        (pt, pl, pb, pr), (sh, sw), (dh, dw) = c.pads, c.stride, c.dil
        xp = np.full((c.n, c.c_in, c.h + pt + pb + sh, c.w + pl + pr + sw), dt.in_zp, np.int64)
        xp[:, :, pt:pt + c.h, pl:pl + c.w] = dt.x
        cig, cog = c.c_in // c.groups, c.c_out // c.groups
        acc = np.zeros((c.n, c.c_out, oh, ow), np.int64)
        w = dt.w.astype(np.int64)
        for g in range(c.groups):
            for kh in range(c.k[0]):
                for kw in range(c.k[1]):
                    win = xp[:, g * cig:(g + 1) * cig, kh * dh:kh * dh + sh * (oh - 1) + 1:sh,
                             kw * dw:kw * dw + sw * (ow - 1) + 1:sw]
                    acc[:, g * cog:(g + 1) * cog] += np.einsum("nchw,oc->nohw", win,
                                                               w[g * cog:(g + 1) * cog, :, kh, kw])
        acc += dt.bias.reshape(1, -1, 1, 1)
        if c.band:
            acc = acc[:, :, c.band[0]:c.band[0] + c.band[1]]
        chan_axis_shape = (1, -1, 1, 1)
    mult = np.resize(dt.mult, shape.channels).reshape(chan_axis_shape)
    shift = np.resize(dt.shift, shape.channels).reshape(chan_axis_shape)
    y = dt.out_zp + requant(acc, mult, shift)
    return np.clip(y, dt.act_min, dt.act_max).reshape(-1)


# ---------------------------------------------------------------- build and run

@dataclass(frozen=True)
class S8Run:
    fast: np.ndarray
    ref: np.ndarray
    want: np.ndarray  # the numpy contract
    instructions: int
    weighted: int | None
    macs: int

    @property
    def macs_per_instruction(self) -> float:
        return self.macs / max(1, self.weighted or self.instructions)


def s8_isa(board: Board) -> str | None:
    """The int8 SIMD kernels a board's core runs, from its record's fields: Helium or RVV
    where the core has them, the DSP extension's SMLAD on v7E-M cores (M4, M7)."""
    isa = board.core.simd if board.core.simd in ("mve", "rvv") else (
        "dsp" if board.core.arch.startswith("armv7e-m") else None)
    return isa if isa and f"mf_conv2d_s8_{isa}" in available() else None


def kernel_name(shape: ConvS8 | FcS8, isa: str) -> str:
    return f"mf_{shape.op}_s8_{isa}"


def run_s8(board: Board, shape: ConvS8 | FcS8, isa: str, seed: int = 0, out_dir: Path | None = None,
           timeout: float = 600.0) -> S8Run:
    """isa 'ref' runs the reference against itself (the host check of s8_ref.c vs numpy)."""
    # the runtime's own ref kernel where the tests' reference has no twin (overwrite)
    fast = f"kb_{shape.op}_s8_refs" if isa == "ref" and shape.op != "conv2d_overwrite" else kernel_name(shape, isa)
    dt = make_data(shape, seed)
    defines = [*shape.defines(), *dt.defines(), f"-DKS_FAST={fast}", f"-DKS_FAST_SCRATCH={fast}_scratch_bytes",
               f"-DKS_SCRATCH_BYTES={scratch_bytes(isa, shape)}"]
    xw, params = dt.inputs()
    ins = {"xw": xw, "params": params}
    if getattr(shape, "w_dsp", False):
        from toolchain.ops.qconv import dsp_weights

        ins["wdsp"] = np.array(dsp_weights(dt.w), np.int32).view(np.float32)
    n_y = int(np.prod(shape.out_hw)) * shape.n * shape.c_out if isinstance(shape, ConvS8) else shape.m * shape.n
    case = Case(HERE / "model_s8.c", set() if fast.startswith("kb_") else {fast}, ins,
                {"fast": n_y, "ref": n_y}, dict(f[2:].split("=", 1) for f in defines), sources=[HERE / "s8_ref.c"])
    try:
        r = run(board, case, out_dir=out_dir, timeout=timeout)
    except HarnessError as e:
        raise RuntimeError(f"{fast} on {board.name} returned {e.status} (-100: scratch size differs "
                           f"from the Python twin, -101: wrote past its output)") from None
    return S8Run(r.fast.astype(np.int64), r.ref.astype(np.int64), contract(shape, dt),
                 r.instructions, r.weighted, shape.macs)


__all__ = ["s8_isa", "COLS", "ConvS8", "FcS8", "RUNTIME", "S8Data", "S8Run", "contract", "conv_scratch_bytes",
           "fc_scratch_bytes", "make_data", "run_s8", "scratch_bytes"]
