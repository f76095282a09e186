"""Movement ops as strided views over their source (the idea of tinygrad's ShapeTracker, done
numerically).

A chain of movement ops (Reshape, Flatten, Squeeze/Unsqueeze, Transpose, Slice, Split, Gather
with constant indices) maps each element of its result to one element of the source tensor
where the chain starts. Instead of composing the ops' rules symbolically, we run the chain's
numpy references over the source's element indices (np.arange): the result is the exact index
map, whatever the exporter's order of reshapes, permutes, unbinds and selects. A map that is
affine in the result's coordinates is a strided View (offset + sum(i_k * stride_k)); one that
is not needs a copy.

Matchers ask for the View a tensor is of its token-major source and compare strides, never
node chains; `views_to_reshapes` turns every movement node whose map is the identity (a
Transpose that only moves size-1 dims, a full Slice, a one-piece Split...) into a free Reshape.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from toolchain.ir.graph import Graph, Node
from toolchain.ops import REGISTRY
from toolchain.ops.shape import ViewParams
from toolchain.passes.fold import _copy

MOVEMENT = frozenset({"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Dropout", "Transpose", "Slice",
                      "Split", "Gather"})
MAX_ELEMENTS = 1 << 22  # index maps are built in host memory: MCU tensors are far smaller


@dataclass(frozen=True)
class View:
    """Element (i_0, ..., i_r) of a tensor is source element offset + sum(i_k * strides[k])."""

    shape: tuple[int, ...]
    strides: tuple[int, ...]
    offset: int

    @staticmethod
    def of(idx: np.ndarray) -> "View | None":
        """The strided View an index map is, or None when it is not affine."""
        if idx.size == 0:
            return None
        flat0 = int(idx.reshape(-1)[0])
        strides = []
        for k, d in enumerate(idx.shape):
            if d == 1:
                strides.append(0)
                continue
            e = [0] * idx.ndim
            e[k] = 1
            strides.append(int(idx[tuple(e)]) - flat0)
        want = np.full(idx.shape, flat0, dtype=np.int64)
        for k, s in enumerate(strides):
            shape = [1] * idx.ndim
            shape[k] = idx.shape[k]
            want = want + (np.arange(idx.shape[k], dtype=np.int64) * s).reshape(shape)
        if not np.array_equal(want, idx):
            return None
        return View(tuple(idx.shape), tuple(strides), flat0)


@dataclass(frozen=True)
class Traced:
    source: str  # the tensor the chain starts from (its producer is not a movement op)
    index: np.ndarray  # index map: the traced tensor's shape, values index source elements
    nodes: tuple[Node, ...]  # the movement nodes crossed, source side first

    @property
    def view(self) -> View | None:
        return View.of(self.index)


def _is_movement(n: Node | None) -> bool:
    return n is not None and n.op_type in MOVEMENT and len([i for i in n.inputs if i]) == 1


def trace(g: Graph, t: str, prod: dict[str, Node] | None = None) -> Traced | None:
    """Walk back from t through movement ops to its source; None if t is that source already
    or a tensor is too large to map."""
    prod = g.producers() if prod is None else prod
    chain: list[tuple[Node, int]] = []
    cur = t
    while _is_movement(prod.get(cur)):
        n = prod[cur]
        chain.append((n, n.outputs.index(cur)))
        cur = n.inputs[0]
    if not chain or g.tensors[cur].size > MAX_ELEMENTS:
        return None
    src = g.tensors[cur]
    idx = np.arange(src.size, dtype=np.int64).reshape(src.shape)
    for n, k in reversed(chain):
        idx = np.asarray(REGISTRY.get(n.op_type).reference(n.params, [idx])[k])
    return Traced(cur, idx, tuple(n for n, _ in reversed(chain)))


def forward(g: Graph, t: str, users: dict[str, list[Node]]) -> list[tuple[str, np.ndarray, tuple[Node, ...]]]:
    """Each tensor reached from t through single-reader, single-output movement ops, with its
    index map over t and the nodes crossed: the candidates for 'what t is viewed as'."""
    idx = np.arange(g.tensors[t].size, dtype=np.int64).reshape(g.tensors[t].shape)
    out, nodes, cur = [], [], t
    while True:
        us = users.get(cur, [])
        if len(us) != 1 or cur in g.outputs or not _is_movement(us[0]) or len(us[0].outputs) != 1:
            return out
        n = us[0]
        idx = np.asarray(REGISTRY.get(n.op_type).reference(n.params, [idx])[0])
        nodes.append(n)
        cur = n.outputs[0]
        out.append((cur, idx, tuple(nodes)))


def views_to_reshapes(g: Graph) -> Graph:
    """A movement node whose output is its input's elements in the same order (offset 0) is a
    Reshape: no copy, the same buffer."""
    nodes = []
    for n in g.nodes:
        if n.op_type in ("Transpose", "Slice", "Split", "Gather") and len(n.outputs) == 1 and n.outputs[0]:
            x = g.tensors[n.inputs[0]]
            out = g.tensors[n.outputs[0]]
            if x.size == out.size and x.size <= MAX_ELEMENTS and not x.is_const:
                idx = REGISTRY.get(n.op_type).reference(n.params, [np.arange(x.size, dtype=np.int64).reshape(x.shape)])[0]
                if np.array_equal(np.asarray(idx).reshape(-1), np.arange(x.size)):
                    nodes.append(Node(n.name, "Reshape", [n.inputs[0]], list(n.outputs), ViewParams(out.shape),
                                      list(n.origin)))
                    continue
        nodes.append(n)
    return _copy(g, nodes)


def drop_dead(g: Graph) -> Graph:
    """Remove nodes none of whose outputs is read or a graph output (the movement and scaling
    nodes a fused op no longer reads), and the tensors they wrote."""
    live = set(g.outputs)
    keep: list[Node] = []
    for n in reversed(g.nodes):
        if any(o and o in live for o in n.outputs):
            keep.append(n)
            live.update(i for i in n.inputs if i)
    keep.reverse()
    if len(keep) == len(g.nodes):
        return g
    written = {o for n in keep for o in n.outputs if o}
    dropped = {o for n in g.nodes for o in n.outputs if o} - written
    return _copy(g, keep, {k: v for k, v in g.tensors.items() if k not in dropped})


def drop_identities(g: Graph) -> Graph:
    """Identity (and inference Dropout) nodes are views of their input under the same shape:
    readers take the input directly, so pattern matchers never see them. Kept where the
    output is a graph output (it keeps its name) or the input is a graph input being renamed."""
    rename: dict[str, str] = {}
    nodes = []
    for n in g.nodes:
        ins = [rename.get(i, i) for i in n.inputs]
        if (n.op_type in ("Identity", "Dropout") and n.outputs[0] not in g.outputs
                and g.tensors[n.outputs[0]].shape == g.tensors[n.inputs[0]].shape):
            rename[n.outputs[0]] = ins[0]
            continue
        nodes.append(n if ins == n.inputs else Node(n.name, n.op_type, ins, list(n.outputs), n.params, list(n.origin)))
    if not rename:
        return g
    return _copy(g, nodes, {k: v for k, v in g.tensors.items() if k not in rename})
