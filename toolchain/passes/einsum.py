"""Einsum written out as Transpose / Reshape / MatMul (no kernel of its own).

For two operands: indices in both and in the output are batch dims, in both but not in the
output are contracted, the rest belong to one side. The operand whose own indices come first
in the output is the left one, so an attention's scores come out as Q K^T (what
passes/attention.py matches) rather than (K Q^T)^T. Constant operands are rearranged at
compile time; a side with no batch index becomes a 2-D weight, a per-token linear step.
"""

from __future__ import annotations

import numpy as np

from toolchain.ir.graph import DType, Graph, Node, Tensor
from toolchain.ops.gemm import GemmParams
from toolchain.ops.movement import TransposeParams
from toolchain.ops.shape import ViewParams
from toolchain.passes.fold import _const, _copy, _fresh


def lower_einsum(g: Graph) -> Graph:
    if not any(n.op_type == "Einsum" for n in g.nodes):
        return g
    tensors = dict(g.tensors)
    nodes: list[Node] = []
    for n in g.nodes:
        if n.op_type == "Einsum":
            nodes.extend(_lower(n, tensors))
        else:
            nodes.append(n)
    return _copy(g, nodes, tensors)


class _Builder:
    def __init__(self, n: Node, tensors: dict[str, Tensor]) -> None:
        self.n, self.tensors, self.nodes, self.k = n, tensors, [], 0

    def _new(self, shape: tuple[int, ...], name: str | None = None) -> str:
        if name is None:
            name = _fresh(self.tensors, f"{self.n.outputs[0]}#e{self.k}")
            self.k += 1
        self.tensors[name] = Tensor(name, shape, DType.FLOAT32)
        return name

    def transpose(self, x: str, perm: list[int]) -> str:
        t = self.tensors[x]
        if perm == sorted(perm):
            return x
        if t.data is not None:
            return _const(self.tensors, f"{self.n.name}/t{self.k}", np.ascontiguousarray(t.data.transpose(perm)))
        out = self._new(tuple(t.shape[i] for i in perm))
        self.nodes.append(Node(f"{self.n.name}/t{self.k}", "Transpose", [x], [out], TransposeParams(tuple(perm)),
                               list(self.n.origin)))
        return out

    def reshape(self, x: str, shape: tuple[int, ...], name: str | None = None) -> str:
        t = self.tensors[x]
        if t.shape == shape and name is None:
            return x
        if t.data is not None:
            return _const(self.tensors, f"{self.n.name}/r{self.k}", t.data.reshape(shape))
        out = self._new(shape, name)
        self.nodes.append(Node(f"{self.n.name}/r{self.k}", "Reshape", [x], [out], ViewParams(shape),
                               list(self.n.origin)))
        self.k += 1
        return out


def _lower(n: Node, tensors: dict[str, Tensor]) -> list[Node]:
    p = n.params
    b = _Builder(n, tensors)
    out = n.outputs[0]
    out_shape = tensors[out].shape
    if len(p.operands) == 1:
        x = b.transpose(n.inputs[0], [p.operands[0].index(c) for c in p.output])
        b.reshape(x, out_shape, name=out)
        return b.nodes
    (la, lb), (a, bb) = p.operands, n.inputs
    first = next(c for c in p.output if (c in la) != (c in lb)) if any((c in la) != (c in lb) for c in p.output) else ""
    if first and first in lb:  # the operand whose own indices lead the output goes left
        (la, lb), (a, bb) = (lb, la), (bb, a)
    dims = {c: d for letters, t in ((la, tensors[a]), (lb, tensors[bb])) for c, d in zip(letters, t.shape)}
    batch = [c for c in p.output if c in la and c in lb]
    contract = [c for c in la if c in lb and c not in p.output]
    left = [c for c in p.output if c in la and c not in lb]
    right = [c for c in p.output if c in lb and c not in la]
    size = lambda cs: int(np.prod([dims[c] for c in cs], dtype=np.int64))  # noqa: E731
    lead = (size(batch),) if batch else ()
    xa = b.reshape(b.transpose(a, [la.index(c) for c in batch + left + contract]),
                   lead + (size(left), size(contract)))
    xb = b.reshape(b.transpose(bb, [lb.index(c) for c in batch + contract + right]),
                   lead + (size(contract), size(right)))
    mm = b._new(lead + (size(left), size(right)))
    b.nodes.append(Node(f"{n.name}/matmul", "MatMul", [xa, xb], [mm], GemmParams(matmul=True), list(n.origin)))
    order = batch + left + right
    full = b.reshape(mm, tuple(dims[c] for c in order))
    perm = [order.index(c) for c in p.output]
    if perm == sorted(perm):
        b.reshape(full, out_shape, name=out)
    else:
        t = b.transpose(full, perm)
        b.reshape(t, out_shape, name=out)
    return b.nodes
