"""The model boundary of an int8 graph: float -> int8 (QuantizeLinear on a float model
input), int8 -> float (DequantizeLinear on an output), and uint8 <-> int8 (a uint8 input or
output is the int8 tensor shifted by 128, exact). The only place float meets the int8 path."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from toolchain.ir.graph import DType, Node, Tensor
from toolchain.ops.base import Call, LowerCtx, Op, OutSpec, TensorArg, lit, register, struct
from toolchain.ops.kernel_table import Sig, kernels


@dataclass(frozen=True)
class BoundaryParams:
    kind: str  # one of the op types below
    scale: float = 1.0
    zp: int = 0


_OUT = {"MfQuantize": DType.INT8, "MfDequantize": DType.FLOAT32, "MfFromU8": DType.INT8, "MfToU8": DType.UINT8}


@register
class Boundary(Op):
    op_types = tuple(_OUT)
    internal = True

    @classmethod
    def infer(cls, p: BoundaryParams, ins: list[Tensor]) -> list[OutSpec]:
        return [OutSpec(ins[0].shape, _OUT[p.kind])]

    @classmethod
    def reference(cls, p: BoundaryParams, xs: list[np.ndarray]) -> list[np.ndarray]:
        return [cls._ref(p, xs[0])]

    @classmethod
    def _ref(cls, p: BoundaryParams, x: np.ndarray) -> np.ndarray:
        op_type = p.kind
        if op_type == "MfQuantize":
            q = np.round(x.astype(np.float32) / np.float32(p.scale)) + p.zp  # ties to even
            return np.clip(q, -128, 127).astype(np.int8)
        if op_type == "MfDequantize":
            return ((x.astype(np.int32) - p.zp).astype(np.float32) * np.float32(p.scale)).astype(np.float32)
        if op_type == "MfFromU8":
            return (x.astype(np.int16) - 128).astype(np.int8)
        return (x.astype(np.int16) + 128).astype(np.uint8)

    @classmethod
    def lower(cls, p: BoundaryParams, node: Node, ctx: LowerCtx) -> list[Call]:
        x, y = TensorArg(node.inputs[0]), TensorArg(node.outputs[0])
        n = int(np.prod(ctx.shape(node.inputs[0]), dtype=np.int64))
        if node.op_type in ("MfFromU8", "MfToU8"):
            op = "from_u8" if node.op_type == "MfFromU8" else "to_u8"
            return [Call(ctx.kernel(op, "s8", ()), (x, y, lit(n)))]
        desc = struct("mf_quant_s8_desc", n=lit(n), scale=lit(float(p.scale)), zp=lit(p.zp))
        op = "quantize" if node.op_type == "MfQuantize" else "dequantize"
        return [Call(ctx.kernel(op, "s8", ()), (x, y, desc))]


# the kernel table (ops/kernel_table.py): the int8 reference kernels of this family
for _op, _params in (("mf_quantize", "const float *x, int8_t *y, const mf_quant_s8_desc *d"),
                    ("mf_dequantize", "const int8_t *x, float *y, const mf_quant_s8_desc *d"),
                    ("mf_from_u8", "const uint8_t *x, int8_t *y, int32_t n"),
                    ("mf_to_u8", "const int8_t *x, uint8_t *y, int32_t n")):
    kernels(_op, "quant_s8_ref.c", ("s8",), sig=Sig("mf_int8.h", _params))
