"""The GEMM / convolution cases of the kernel harness (tests/kernels/model.c, built and run by
harness.py): a fast kernel and its reference on the same seeded data, the fast one's
instructions counted."""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from harness import CTYPE, HERE, Case, HarnessError, run
from toolchain.boards import Board
from toolchain.codegen import RUNTIME
from toolchain.ops.conv import conv_cols, overwrite_cols


def defines_of(flags: list[str]) -> dict[str, str]:
    """["-DKB_OP=1", ...] -> {"KB_OP": "1", ...}"""
    return dict(f[2:].split("=", 1) for f in flags)


@dataclass(frozen=True)
class Gemm:
    m: int
    n: int
    k: int

    def defines(self) -> list[str]:
        return ["-DKB_OP=1", f"-DKB_M={self.m}", f"-DKB_N={self.n}", f"-DKB_K={self.k}"]

    def sizes(self) -> tuple[int, int]:
        return self.m * self.k, self.k * self.n

    @property
    def macs(self) -> int:
        return self.m * self.n * self.k

    op = "gemm"


@dataclass(frozen=True)
class ConvWindow:
    """A 2-D convolution's shape as the harnesses take it (square kernel, symmetric padding);
    tests/test_train_kernels.py builds its backward shapes on it too."""
    c_in: int
    c_out: int
    h: int
    w: int
    k: int = 3
    stride: int = 1
    pad: int = 1
    groups: int = 1

    @property
    def out_hw(self) -> tuple[int, int]:
        return ((self.h + 2 * self.pad - self.k) // self.stride + 1,
                (self.w + 2 * self.pad - self.k) // self.stride + 1)

    def window_defines(self) -> list[str]:
        return ["-DKB_OP=2", f"-DKB_CI={self.c_in}", f"-DKB_CO={self.c_out}", f"-DKB_H={self.h}",
                f"-DKB_W_IN={self.w}", f"-DKB_KH={self.k}", f"-DKB_KW={self.k}", f"-DKB_S={self.stride}",
                f"-DKB_PAD={self.pad}", f"-DKB_G={self.groups}"]


@dataclass(frozen=True)
class Conv(ConvWindow):
    act: str = "MF_ACT_RELU"

    def defines(self) -> list[str]:
        return [*self.window_defines(), f"-DKB_ACT={self.act}"]

    def sizes(self) -> tuple[int, int]:
        return self.c_in * self.h * self.w, self.c_out * (self.c_in // self.groups) * self.k * self.k

    @property
    def macs(self) -> int:
        oh, ow = self.out_hw
        return self.c_out * oh * ow * (self.c_in // self.groups) * self.k * self.k

    op = "conv2d"


@dataclass(frozen=True)
class ConvOverwrite(Conv):
    """The overwrite-safe conv (depthwise or pointwise shapes) run over its own input."""

    def defines(self) -> list[str]:
        return ["-DKB_OP=3" if d == "-DKB_OP=2" else d for d in super().defines()]

    op = "conv2d_overwrite"


@dataclass(frozen=True)
class KernelRun:
    fast: np.ndarray
    ref: np.ndarray
    instructions: int
    weighted: int | None
    macs: int

    @property
    def macs_per_instruction(self) -> float:
        return self.macs / (self.weighted or self.instructions)


def run_kernel(board: Board, shape: Gemm | Conv, dtype: str, isa: str, seed: int = 0,
               out_dir: Path | None = None, timeout: float = 600.0, inplace: bool = False) -> KernelRun:
    """inplace: run the overwrite conv (mf_conv2d_overwrite_*) with its output over its input."""
    if inplace and not isinstance(shape, ConvOverwrite):
        shape = ConvOverwrite(**{f.name: getattr(shape, f.name) for f in fields(shape)})
    overwrite = isinstance(shape, ConvOverwrite)
    fast = f"mf_{shape.op}_{dtype}_{isa}"
    ref = f"mf_conv2d_{dtype}_ref" if overwrite else f"mf_{shape.op}_{dtype}_ref"
    scratch = isa != "ref" and shape.op == "conv2d"
    cols = overwrite_cols(isa) if overwrite else conv_cols(isa) if scratch else 1
    defines = [*shape.defines(), f"-DKB_T={CTYPE[dtype]}", f"-DKB_FAST={fast}", f"-DKB_REF={ref}",
               f"-DKB_SCRATCH={int(scratch)}", f"-DKB_COLS={cols}"]
    rng = np.random.default_rng(seed)
    x, w = (rng.uniform(-1, 1, n).astype(np.float32) for n in shape.sizes())
    n_y = shape.m * shape.n if isinstance(shape, Gemm) else shape.c_out * shape.out_hw[0] * shape.out_hw[1]
    try:
        r = run(board, Case(HERE / "model.c", {fast, ref}, {"x": x, "w": w}, {"fast": n_y, "ref": n_y},
                            defines_of(defines)), out_dir=out_dir, timeout=timeout)
    except HarnessError as e:
        raise RuntimeError(f"{fast} on {board.name} returned {e.status}") from None
    return KernelRun(r.fast, r.ref, r.instructions, r.weighted, shape.macs)


__all__ = ["CTYPE", "Conv", "ConvOverwrite", "ConvWindow", "Gemm", "KernelRun", "RUNTIME", "defines_of", "run_kernel"]
