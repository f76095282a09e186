"""The node builder the backward rules (train/rules.py) append to: fresh names, partial
gradients per tensor summed on demand. Its own module so that autodiff imports rules and
rules imports this, with no cycle."""

from __future__ import annotations

import numpy as np

from toolchain.ir.graph import DType, Node, Tensor
from toolchain.ops.elementwise import BinaryParams


class Builder:
    """Appends nodes with fresh names and collects partial gradients per tensor."""

    def __init__(self, tensors: dict[str, Tensor]) -> None:
        self.tensors = tensors
        self.nodes: list[Node] = []
        self.partials: dict[str, list[str]] = {}
        self._n = 0

    def fresh(self, base: str) -> str:
        self._n += 1
        name = f"{base}#{self._n}"
        while name in self.tensors:
            self._n += 1
            name = f"{base}#{self._n}"
        return name

    def add(self, op_type: str, inputs: list[str], shapes: list[tuple[int, ...]], params: object,
            origin: list[str], base: str) -> list[str]:
        outs = []
        for s in shapes:
            name = self.fresh(f"d({base})" if not outs else f"d({base})_{len(outs)}")
            self.tensors[name] = Tensor(name, tuple(s), DType.FLOAT32)
            outs.append(name)
        self.nodes.append(Node(self.fresh(f"{op_type}:{base}"), op_type, inputs, list(outs), params, list(origin)))
        return outs

    def const(self, base: str, value: np.ndarray) -> str:
        name = self.fresh(base)
        self.tensors[name] = Tensor(name, tuple(value.shape), DType.from_numpy(value.dtype), value)
        return name

    def accumulate(self, t: str, g: str) -> None:
        self.partials.setdefault(t, []).append(g)

    def grad(self, t: str) -> str | None:
        """The gradient of t, summing partials with Add nodes (in place when possible)."""
        ps = self.partials.get(t)
        if not ps:
            return None
        acc = ps[0]
        for p in ps[1:]:
            acc = self.add("Add", [acc, p], [self.tensors[t].shape], BinaryParams("ADD"), [], t)[0]
        self.partials[t] = [acc]
        return acc
