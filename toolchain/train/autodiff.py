"""Reverse-mode autodiff over the IR: forward Graph -> training Graph.

The training graph is an ordinary Graph: the forward nodes, one loss node, the backward
nodes (each op family's gradient ops and rule, ops/<family>.py, plus forward ops reused for what they already compute:
Add to sum gradients, Mul, Transpose, Reshape, Pad, Slice, ReduceSum), and one in-place
optimizer update per trainable weight, placed right after the last node that reads the weight
so its gradient dies at once. Trainable weights and optimizer state become graph inputs *and*
outputs: the planner then keeps them in the arena for the whole program, pinned, which is
exactly their lifetime across steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from toolchain.errors import UnsupportedOpError
from toolchain.ir.graph import DType, Graph, Node, Tensor
from toolchain.ops.elementwise import OUTPUT_DERIVABLE, UNARY_OPS, Act, BinaryParams, UnaryParams
from toolchain.ops.grad import Builder, backward
from toolchain.train import loss_optim  # noqa: F401  (registers the loss and update ops)
from toolchain.train.loss_optim import LossParams
from toolchain.train.spec import OptimizerSpec, Slot

LABEL = "mf_train_label"
LOSS = "mf_train_loss"

_UNARY_OP = {kind: op for op, (kind, _) in UNARY_OPS.items()} | {"CLIP": "Clip", "GELU": "Gelu", "GELU_TANH": "Gelu"}


@dataclass
class TrainableWeight:
    name: str  # the tensor in the training graph (RAM)
    source: str  # the forward graph's constant it started from (before any un-sharing)
    node: str  # the one node that reads it
    origin: list[str]  # that node's ONNX nodes
    init: np.ndarray
    states: list[str] = field(default_factory=list)
    half: str | None = None  # its FP16 working copy in a mixed-precision step (train.mixed)


def _gradient(b: Builder, t: str) -> str | None:
    """The gradient of t, its partials summed with Add nodes (in place when possible)."""
    ps = b.partials.get(t)
    if not ps:
        return None
    acc = ps[0]
    for p in ps[1:]:
        acc = b.add("Add", [acc, p], [b.tensors[t].shape], BinaryParams("ADD"), [], t)[0]
    b.partials[t] = [acc]
    return acc


@dataclass
class TrainGraph:
    graph: Graph
    inputs: list[str]  # the model's data inputs
    label: str
    loss: str
    logits: str
    loss_params: LossParams
    weights: list[TrainableWeight]
    optimizer: OptimizerSpec
    grads: dict[str, str]  # extra gradients exposed as outputs (tests)


def _strip_softmax(g: Graph, loss: str) -> tuple[list[Node], str]:
    if len(g.outputs) != 1:
        raise UnsupportedOpError(f"training needs a single-output model; this one has {len(g.outputs)}")
    out = g.outputs[0]
    prod = g.producers().get(out)
    # copies: the caller's graph is not touched when weights are renamed below
    nodes = [replace(n, inputs=list(n.inputs), outputs=list(n.outputs)) for n in g.nodes]
    prod = next((n for n in nodes if out in n.outputs), None) if prod is not None else None
    if loss == "cross_entropy" and prod is not None and prod.op_type == "Softmax":
        # the loss applies log-softmax itself: train on the logits before the model's Softmax
        nodes.remove(prod)
        out = prod.inputs[0]
    # drop nodes the loss does not depend on
    need, keep = {out}, []
    for n in reversed(nodes):
        if any(o in need for o in n.outputs):
            keep.append(n)
            need.update(i for i in n.inputs if i)
    return keep[::-1], out


def _requires_grad(nodes: list[Node], seeds: set[str]) -> set[str]:
    rg = set(seeds)
    for n in nodes:
        if any(i in rg for i in n.inputs if i):
            rg.update(n.outputs)
    return rg


def _unfuse(nodes: list[Node], tensors: dict[str, Tensor], rg: set[str]) -> list[Node]:
    """Split a fused activation whose derivative needs its input off its producer."""
    out = []
    for n in nodes:
        act = getattr(n.params, "act", None)
        if (act is None or act.kind in OUTPUT_DERIVABLE or n.op_type in UNARY_OPS or n.op_type in ("Clip", "Gelu")
                or not any(i in rg for i in n.inputs if i)):
            out.append(n)
            continue
        if act.kind not in _UNARY_OP:
            raise UnsupportedOpError(f"node {n.name!r}: no backward for fused activation {act.kind}")
        y = n.outputs[0]
        pre = f"{y}/pre_act"
        tensors[pre] = Tensor(pre, tensors[y].shape, tensors[y].dtype)
        out.append(Node(n.name, n.op_type, list(n.inputs), [pre], replace(n.params, act=Act()), list(n.origin)))
        out.append(Node(f"{n.name}/act", _UNARY_OP[act.kind], [pre], [y], UnaryParams(act), list(n.origin)))
    return out


def build_training_graph(g: Graph, trainable: list[Slot], loss: str, optimizer: OptimizerSpec,
                         extra_grads: tuple[str, ...] = ()) -> TrainGraph:
    tensors = dict(g.tensors)
    nodes, logits = _strip_softmax(g, loss)
    by_name = {n.name: n for n in nodes}
    # Un-share: a trainable constant read anywhere else gets its own copy for this node.
    readers: dict[str, int] = {}
    for n in nodes:
        for i in n.inputs:
            if i:
                readers[i] = readers.get(i, 0) + 1
    weights: list[TrainableWeight] = []
    for s in trainable:
        n = by_name.get(s.node)
        if n is None:
            continue  # the layer does not reach the loss
        src = n.inputs[s.index]
        name = src if readers[src] == 1 else f"{src}@{n.name}"
        t = tensors[src]
        tensors[name] = Tensor(name, t.shape, DType.FLOAT32)  # RAM now: no data
        n.inputs[s.index] = name
        weights.append(TrainableWeight(name, src, n.name, list(n.origin), np.asarray(t.data, np.float32).copy()))
    if not weights and not extra_grads:
        raise UnsupportedOpError("none of the selected layers reaches the loss")
    wnames = {w.name for w in weights}
    seeds = wnames | set(extra_grads)
    nodes = _unfuse(nodes, tensors, _requires_grad(nodes, seeds))
    rg = _requires_grad(nodes, seeds)
    if logits not in rg:
        raise UnsupportedOpError("the trainable weights do not influence the output")

    shape = tensors[logits].shape
    cols = shape[-1] if shape else 1
    rows = int(np.prod(shape[:-1], dtype=np.int64)) if len(shape) > 1 else 1
    lp = LossParams(loss, rows, cols)
    tensors[LABEL] = Tensor(LABEL, (rows,) if loss == "cross_entropy" else shape, DType.FLOAT32)
    tensors[LOSS] = Tensor(LOSS, (1,), DType.FLOAT32)
    b = Builder(tensors)
    dlogits = f"d({logits})"
    tensors[dlogits] = Tensor(dlogits, shape, DType.FLOAT32)
    b.nodes.append(Node("train/loss", "TrainLoss", [logits, LABEL], [LOSS, dlogits], lp, []))
    b.accumulate(logits, dlogits)

    # The last node that reads each weight: its update goes right after that node's backward.
    wgrads: dict[str, list[str]] = {}
    opt_params = optimizer.params()
    update_op = "SgdUpdate" if optimizer.kind == "sgd" else "AdamUpdate"
    for w in weights:
        for sname in optimizer.state_names:
            st = f"{w.name}/{sname}"
            tensors[st] = Tensor(st, tensors[w.name].shape, DType.FLOAT32)
            w.states.append(st)
    wmap = {w.name: w for w in weights}
    for n in reversed(nodes):
        if not any(o in rg for o in n.outputs):
            continue
        gys = [_gradient(b, o) for o in n.outputs]
        if all(gy is None for gy in gys):
            continue
        backward(b, n, gys, rg - wnames, wnames, wgrads)
        for i in n.inputs:
            if i in wmap and i in wgrads:
                gw = wgrads.pop(i)
                w = wmap[i]
                b.nodes.append(Node(b.fresh(f"update:{i}"), update_op, [i, gw, *w.states], [], opt_params, []))
    missing = [w.name for w in weights if not any(n.op_type == update_op and n.inputs[0] == w.name for n in b.nodes)]
    if missing:
        raise UnsupportedOpError(f"no gradient reaches {missing}")
    grads = {t: _gradient(b, t) or "" for t in extra_grads}
    inputs = list(g.inputs)
    persistent = [w.name for w in weights] + [s for w in weights for s in w.states]
    out = Graph(f"{g.name}/train", tensors, nodes + b.nodes, inputs + [LABEL] + persistent,
                [LOSS] + persistent + [v for v in grads.values() if v], g.source)
    used = {i for n in out.nodes for i in n.inputs} | {o for n in out.nodes for o in n.outputs}
    out.tensors = {k: v for k, v in tensors.items() if k in used or k in out.inputs or k in out.outputs}
    return TrainGraph(out, inputs, LABEL, LOSS, logits, lp, weights, optimizer, grads)
