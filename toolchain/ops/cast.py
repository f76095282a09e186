"""MfCast: the float32 <-> float16 conversion that an FP16 build puts at the model boundary
(inserted by toolchain.passes.fp16, never read from ONNX, whose Cast only folds)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from toolchain.ir.graph import DType, Node, Tensor
from toolchain.ops.base import Call, LowerCtx, Op, OutSpec, TensorArg, lit, register
from toolchain.ops.kernel_table import Sig, helper

_SUFFIX = {DType.FLOAT32: "f32", DType.FLOAT16: "f16"}


@dataclass(frozen=True)
class CastParams:
    to: DType


@register
class MfCast(Op):
    op_types = ("MfCast",)
    internal = True  # inserted by passes.fp16, never in an ONNX file

    @classmethod
    def infer(cls, p: CastParams, ins: list[Tensor]) -> list[OutSpec]:
        return [OutSpec(ins[0].shape, p.to)]

    @classmethod
    def reference(cls, p: CastParams, xs: list[np.ndarray]) -> list[np.ndarray]:
        return [xs[0].astype(p.to.numpy)]

    @classmethod
    def lower(cls, p: CastParams, node: Node, ctx: LowerCtx) -> list[Call]:
        src = ctx.tensors[node.inputs[0]]
        kernel = f"mf_cast_{_SUFFIX[src.dtype]}_to_{_SUFFIX[p.to]}_ref"
        return [Call(kernel, (TensorArg(node.inputs[0]), TensorArg(node.outputs[0]), lit(src.size)))]

    @classmethod
    def alias_candidates(cls, p: CastParams, node: Node, g: object) -> list[tuple[str, str]]:
        return [(node.inputs[0], "overwrite")]

    @classmethod
    def overwrite_ok(cls, p: CastParams, node: Node, g: object) -> bool:
        # Narrowing front to back (float32 -> float16) writes element i at byte 2i, over
        # input bytes 4j (j <= i) already read: the FP16 copy of the model input needs no
        # memory of its own. Widening would write ahead of the read.
        src = g.tensors[node.inputs[0]]  # type: ignore[attr-defined]
        return p.to.itemsize <= src.dtype.itemsize


# ---------------------------------------------------------------- kernel table
# named directly (no dtype/ISA variants): both directions, portable C
helper("mf_cast_f32_to_f16_ref", "cast_f16_ref.c", isa="ref", sig=Sig("mf_f16.h", "const float *x, mf_f16 *y, int32_t n"))
helper("mf_cast_f16_to_f32_ref", "cast_f16_ref.c", isa="ref", sig=Sig("mf_f16.h", "const mf_f16 *x, float *y, int32_t n"))
