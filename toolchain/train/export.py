"""Write trained weights back into the user's ONNX model.

A trained IR weight maps to ONNX in one of three ways:
- an initializer or a folded constant (e.g. a DequantizeLinear output) of the same name: the
  ONNX nodes of the trained layer are rewired to a new float initializer holding the value;
- a constant a fusion pass built (MatMul+Add -> `<node>/bias`, LayerNorm pattern
  `/gamma`, `/beta`): the constant operand of that Add/Mul in the layer's ONNX nodes;
- anything else (e.g. a weight folded with a BatchNorm scale) is refused with its name.
Only the trained layer's nodes are rewired, so a constant that other layers share (exporters
deduplicate equal initializers) keeps its value for them. Dead nodes and initializers go.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

from toolchain.errors import McuforgeError
from toolchain.frontend import read_model
from toolchain.frontend.onnx_loader import unique_names  # the IR's origin names for ONNX nodes
from toolchain.train.autodiff import TrainableWeight

_FUSED_SUFFIX = {"/bias": "Add", "/gamma": "Mul", "/beta": "Add"}


class ExportError(McuforgeError):
    """A trained weight that cannot be written back into the ONNX model."""


def _constant_names(g: onnx.GraphProto) -> set[str]:
    dynamic = {i.name for i in g.input} - {t.name for t in g.initializer}
    for n in g.node:
        if any(i in dynamic for i in n.input if i):
            dynamic.update(n.output)
    names = {t.name for t in g.initializer}
    for n in g.node:
        names.update(o for o in n.output if o not in dynamic)
    return names


def _fresh(g: onnx.GraphProto, base: str) -> str:
    taken = {t.name for t in g.initializer} | {o for n in g.node for o in n.output} | {i.name for i in g.input}
    name, k = f"{base}.tuned", 1
    while name in taken:
        name, k = f"{base}.tuned{k}", k + 1
    return name


def _prune(g: onnx.GraphProto) -> None:
    while True:
        used = {i for n in g.node for i in n.input} | {o.name for o in g.output}
        dead = [n for n in g.node if not any(o in used for o in n.output)]
        for n in dead:
            g.node.remove(n)
        if not dead:
            break
    used = {i for n in g.node for i in n.input} | {o.name for o in g.output}
    for t in [t for t in g.initializer if t.name not in used]:
        g.initializer.remove(t)


def _target(g: onnx.GraphProto, w: TrainableWeight, consts: set[str],
            origin: list[onnx.NodeProto]) -> tuple[str, tuple[int, ...]]:
    """(ONNX value the layer reads, its shape) for a trained weight."""
    if w.source in consts:
        return w.source, tuple(w.init.shape)
    for suffix, op in _FUSED_SUFFIX.items():
        if w.source.endswith(suffix):
            for n in reversed([n for n in origin if n.op_type == op]):
                for i in n.input:
                    if i in consts:
                        shape = _shape_of(g, i)
                        if shape is not None and int(np.prod(shape)) == w.init.size:
                            return i, shape
    raise ExportError(f"cannot write {w.source!r} back into the ONNX model: it was folded from several "
                      f"constants (train the layer without folding, or export another layer)")


def _shape_of(g: onnx.GraphProto, name: str) -> tuple[int, ...] | None:
    for t in g.initializer:
        if t.name == name:
            return tuple(t.dims)
    for n in g.node:
        if n.op_type == "Constant" and name in n.output:
            for a in n.attribute:
                if a.name == "value":
                    return tuple(a.t.dims)
    return None


def export_onnx(model_path: str | Path, weights: list[TrainableWeight], values: dict[str, np.ndarray],
                out_path: str | Path) -> Path:
    m = read_model(model_path)
    g = m.graph
    consts = _constant_names(g)
    ir_names = unique_names(list(g.node))  # by index: nodes are only removed at the end
    for w in weights:
        origin = [g.node[i] for i, name in enumerate(ir_names) if name in w.origin]
        value, shape = _target(g, w, consts, origin)
        new = _fresh(g, value)
        g.initializer.append(numpy_helper.from_array(np.asarray(values[w.name], np.float32).reshape(shape), new))
        hit = False
        for n in origin:
            for k, i in enumerate(n.input):
                if i == value:
                    n.input[k] = new
                    hit = True
        if not hit:
            raise ExportError(f"no ONNX node of layer {w.node!r} reads {value!r}")
    _prune(g)
    onnx.checker.check_model(m)
    out = Path(out_path)
    onnx.save(m, str(out))
    return out
