"""Einsum (Keras's EinsumDense and MultiHeadAttention, torch.einsum): parsed, shape-inferred and
folded here; it has no kernel of its own, passes/einsum.py writes each one out as Transpose /
Reshape / MatMul before anything is planned.

Supported: explicit or implicit output, one or two operands, no ellipsis, no index repeated
within an operand; a one-operand einsum must be a permutation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from toolchain.ir.graph import Tensor
from toolchain.ops.base import Attrs, Op, OutSpec, register


@dataclass(frozen=True)
class EinsumParams:
    operands: tuple[str, ...]  # index letters of each input
    output: str

    @property
    def equation(self) -> str:
        return ",".join(self.operands) + "->" + self.output


@register
class Einsum(Op):
    op_types = ("Einsum",)

    @classmethod
    def parse(cls, attrs: Attrs, ins: list[Tensor | None], opset: int) -> EinsumParams:
        eq = attrs.str("equation").replace(" ", "")
        if "." in eq:
            raise attrs.error(f"equation {eq!r}: ellipsis is not supported")
        lhs, arrow, rhs = eq.partition("->")
        ops = tuple(lhs.split(","))
        if not arrow:  # numpy's implicit output: the letters seen once, sorted
            letters = "".join(ops)
            rhs = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
        if len(ops) != len(ins) or len(ops) > 2:
            raise attrs.error(f"equation {eq!r}: {len(ins)} inputs; one or two operands are supported")
        dims: dict[str, int] = {}
        for letters, t in zip(ops, ins):
            if len(letters) != len(t.shape):
                raise attrs.error(f"equation {eq!r}: operand {letters!r} does not match rank {len(t.shape)}")
            if len(set(letters)) != len(letters):
                raise attrs.error(f"equation {eq!r}: an index repeated within an operand is not supported")
            for c, d in zip(letters, t.shape):
                if dims.setdefault(c, d) != d:  # no broadcasting of size-1 indices
                    raise attrs.error(f"equation {eq!r}: index {c!r} is {dims[c]} and {d}")
        if any(c not in dims for c in rhs) or len(set(rhs)) != len(rhs):
            raise attrs.error(f"equation {eq!r}: bad output indices")
        if len(ops) == 1 and sorted(ops[0]) != sorted(rhs):
            raise attrs.error(f"equation {eq!r}: a one-operand einsum must be a permutation")
        if len(ops) == 2 and any(c not in rhs and c not in ops[1 - k] for k in (0, 1) for c in ops[k]):
            raise attrs.error(f"equation {eq!r}: summing an index of one operand alone is not supported")
        return EinsumParams(ops, rhs)

    @classmethod
    def infer(cls, p: EinsumParams, ins: list[Tensor]) -> list[OutSpec]:
        dims = {c: d for letters, t in zip(p.operands, ins) for c, d in zip(letters, t.shape)}
        return [OutSpec(tuple(dims[c] for c in p.output), ins[0].dtype)]

    @classmethod
    def reference(cls, p: EinsumParams, xs: list[np.ndarray]) -> list[np.ndarray]:
        return [np.einsum(p.equation, *xs)]

    @classmethod
    def macs(cls, p: EinsumParams, ins: list[Tensor], outs: list[Tensor]) -> int:
        dims = {c: d for letters, t in zip(p.operands, ins) for c, d in zip(letters, t.shape)}
        return int(np.prod([dims[c] for c in set("".join(p.operands))], dtype=np.int64))
