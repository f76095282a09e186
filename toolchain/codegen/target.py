"""Board record -> KernelTarget: which kernel variants a build for that board calls.

Decided from the core's fields, never its name:

- ``simd = "rvv"`` / ``"mve"``: the vector kernels of that ISA, for FP32 and, when the core
  has FP16 arithmetic, for FP16;
- no float SIMD but an FPU: the register-blocked scalar kernels (isa ``dsp``) for FP32; FP16
  there is storage only, so FP16 models use the reference kernels (FP32 arithmetic);
- int8 (``s8``): the core's vector ISA (``mve``, ``rvv``), then ``dsp`` on Arm cores whose
  architecture has the DSP extension (SMLAD/SXTB16: armv7e-m, armv8-m/8.1-m main);
- anything missing for a given op falls back to ``ref`` (``LowerCtx.kernel``).
"""

from __future__ import annotations

from typing import Literal

from toolchain.boards import Board
from toolchain.errors import McuforgeError
from toolchain.ops.base import KernelTarget

DType = Literal["fp32", "fp16", "int8"]
KERNEL_DTYPE: dict[str, str] = {"fp32": "f32", "fp16": "f16", "int8": "s8"}


def has_arm_dsp(arch: str) -> bool:
    """The Arm DSP extension (packed 8/16-bit MACs) is part of these architectures' profiles."""
    return arch.startswith("armv7e-m") or arch.startswith("armv8-m.main") or arch.startswith("armv8.1-m.main")


class TargetError(McuforgeError, ValueError):
    pass


def kernel_target(board: Board | None, dtype: DType = "fp32") -> KernelTarget:
    """The kernels to call on ``board`` (None: the portable reference kernels only)."""
    if dtype not in KERNEL_DTYPE:
        raise TargetError(f"dtype {dtype!r} is not one of {sorted(KERNEL_DTYPE)}")
    kd = KERNEL_DTYPE[dtype]
    if board is None:
        return KernelTarget(kd, ("ref",))
    core = board.core
    if dtype == "int8":
        s8 = [core.simd] if core.simd in ("rvv", "mve") else []
        return KernelTarget(kd, tuple(s8 + (["dsp"] if has_arm_dsp(core.arch) else [])) + ("ref",))
    if dtype == "fp16" and not core.fp16_storage and board.bare_metal:
        raise TargetError(f"board {board.name} cannot store FP16 (core.fp16_storage = false)")
    isas: list[str] = []
    if core.simd in ("rvv", "mve") and (dtype == "fp32" or core.fp16_arith):
        isas.append(core.simd)
    if core.has_fpu and (dtype == "fp32" or core.fp16_arith):
        isas.append("dsp")  # the scalar register-blocked kernels also serve SIMD cores' gaps
    return KernelTarget(kd, tuple(isas) + ("ref",))
