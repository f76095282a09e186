"""What every op family's backward pass is written against: the node builder, the registry of
backward rules, the base of the gradient ops and the naming of the training kernels.

A family's module (ops/conv.py, ops/gemm.py, ...) holds its backward beside its forward: its
gradient ops (``TrainOp`` subclasses with numpy references and lowerings to the
mf_<op>_bwd_<entry>_<dtype>_<isa> kernels, registered in the kernel table like any kernel)
and its rule, registered with ``@backward_rule("Conv")``. A rule is called for a node with
its output's gradient and appends the nodes that compute the input gradients some trainable
weight needs (``need``) and the trainable weights' gradients (``train``, returned through
``wgrads``). train/autodiff.py only walks the graph and calls ``backward``.

Gradient ops are IR ops like the forward ones, so a training step is an ordinary Graph that
the planner, checker and codegen handle. Each descriptor the forward already defines is taken
from the forward op's own lowering (``forward_desc``), so the two never disagree on a shape.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from toolchain.errors import UnsupportedOpError
from toolchain.ir.graph import DType, Node, Tensor
from toolchain.ops.base import LowerCtx, Lit, Op, Struct, TensorArg
from toolchain.ops.kernel_table import available


class TrainOp(Op):
    """Built by autodiff, never read from an ONNX file: internal to the registry."""

    internal = True


class Builder:
    """Appends nodes with fresh names and collects partial gradients per tensor (summed by
    train/autodiff.py, which owns the order)."""

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

    def shape(self, t: str) -> tuple[int, ...]:
        return self.tensors[t].shape


# rule(builder, node, output gradient, need, train, wgrads)
Rule = Callable[[Builder, Node, str, set[str], set[str], dict[str, str]], None]
BACKWARD: dict[str, Rule] = {}


def backward_rule(*op_types: str) -> Callable[[Rule], Rule]:
    def reg(fn: Rule) -> Rule:
        for t in op_types:
            BACKWARD[t] = fn
        return fn
    return reg


def unsupported(n: Node, why: str) -> UnsupportedOpError:
    return UnsupportedOpError(f"{n.op_type} node {n.name!r}: {why} (training)")


def backward(b: Builder, n: Node, gys: list[str | None], need: set[str], train: set[str],
             wgrads: dict[str, str]) -> None:
    rule = BACKWARD.get(n.op_type)
    if rule is None:
        raise unsupported(n, "no backward rule")
    if len(n.outputs) != 1:
        raise unsupported(n, "multi-output ops have no backward rule")
    rule(b, n, gys[0], need, train, wgrads)  # type: ignore[arg-type]


def bwd_kernel(ctx: LowerCtx, base: str) -> str:
    """The training kernel for this target: its dtype (f32, or f16 for mixed precision), its
    most preferred ISA that has the kernel, else ref (which always exists)."""
    have = ctx.available if ctx.available is not None else available()
    for isa in ctx.target.isas + ("ref",):
        name = f"{base}_{ctx.target.dtype}_{isa}"
        if name in have:
            return name
    raise UnsupportedOpError(f"no training kernel {base}_{ctx.target.dtype}_* in runtime_c/src")


def isa_of(name: str) -> str:
    return name.rsplit("_", 1)[-1]


def null_or(node: Node, i: int) -> TensorArg | Lit:
    return TensorArg(node.inputs[i]) if len(node.inputs) > i and node.inputs[i] else Lit("NULL")


def forward_desc(op: type[Op], params: object, ins: list[tuple[str, tuple[int, ...]]],
                 out_shape: tuple[int, ...]) -> Struct:
    """The descriptor struct the forward op lowers to, for these shapes (its last argument)."""
    tensors = {n: Tensor(n, s, DType.FLOAT32) for n, s in ins}
    tensors["_y"] = Tensor("_y", out_shape, DType.FLOAT32)
    node = Node("_fwd", "", [n for n, _ in ins], ["_y"], params)
    desc = op.lower(params, node, LowerCtx(tensors))[0].args[-1]
    assert isinstance(desc, Struct)
    return desc
