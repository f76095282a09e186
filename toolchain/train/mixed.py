"""Training graph (FP32) -> mixed-precision training graph: FP16 activations and gradients,
FP32 master weights and optimizer state, dynamic loss scaling.

What stays FP32, and why:
- the master copy of every trainable weight and its optimizer state: an SGD step of
  lr * g is often below half an FP16 ulp of the weight (2^-11 relative), so FP16 weights
  would stop moving; the update kernel runs entirely in FP32;
- the input (the caller's float32, cast once by an MfCast node), the label and the loss.
Each trainable weight gets an FP16 working copy, pinned in the arena beside its master, that
the forward and backward kernels read; the update refreshes it from the master.

Loss scaling: the loss kernel multiplies the logits' gradient by a scale S before rounding it
to FP16, so small gradients survive FP16's range (normal numbers start at 6.1e-5); the updates
divide by S in FP32. S is dynamic (mf_loss_scale in runtime_c/include/mf_train.h): an update
that meets a non-finite gradient skips that weight and halves S for the next step; S doubles
after `growth_interval` clean steps.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from toolchain.ir.graph import DType, Graph, Node, Tensor
from toolchain.ops.cast import CastParams
from toolchain.train.autodiff import TrainGraph, TrainableWeight


@dataclass(frozen=True)
class LossScale:
    init: float = 256.0  # dlogits of a mean cross-entropy lie in [-1, 1]: 256 keeps them < 2^8
    growth_interval: int = 100
    min_scale: float = 1.0


def to_mixed(tg: TrainGraph) -> TrainGraph:
    g = tg.graph
    masters = {w.name for w in tg.weights}
    keep = masters | {s for w in tg.weights for s in w.states} | {tg.label, tg.loss} | set(tg.inputs)
    tensors: dict[str, Tensor] = {}
    for name, t in g.tensors.items():
        if t.dtype != DType.FLOAT32 or name in keep:
            tensors[name] = t
        elif t.is_const:
            tensors[name] = Tensor(name, t.shape, DType.FLOAT16, np.asarray(t.data).astype(np.float16))
        else:
            tensors[name] = Tensor(name, t.shape, DType.FLOAT16)
    rename: dict[str, str] = {}
    head: list[Node] = []
    for x in tg.inputs:
        inner = _fresh(f"{x}.f16", tensors)
        tensors[inner] = Tensor(inner, g.tensors[x].shape, DType.FLOAT16)
        rename[x] = inner
        head.append(Node(f"{x}.to_f16", "MfCast", [x], [inner], CastParams(DType.FLOAT16), [x]))
    weights: list[TrainableWeight] = []
    for w in tg.weights:
        half = _fresh(f"{w.name}.f16", tensors)
        tensors[half] = Tensor(half, g.tensors[w.name].shape, DType.FLOAT16)
        rename[w.name] = half
        weights.append(replace(w, states=list(w.states), half=half))
    halves = {w.name: w.half for w in weights}
    nodes = list(head)
    for n in g.nodes:
        if n.op_type in ("SgdUpdate", "AdamUpdate"):
            # the master and its state stay FP32; the gradient is FP16; the copy is written too
            ins = [n.inputs[0], rename.get(n.inputs[1], n.inputs[1]), *n.inputs[2:], halves[n.inputs[0]]]
            nodes.append(Node(n.name, n.op_type, ins, list(n.outputs), n.params, list(n.origin)))
        else:
            nodes.append(Node(n.name, n.op_type, [rename.get(i, i) for i in n.inputs], list(n.outputs),
                              n.params, list(n.origin)))
    persistent = [w.name for w in weights] + [s for w in weights for s in w.states] + [w.half for w in weights]
    grads = {k: v for k, v in tg.grads.items()}
    out = Graph(g.name, tensors, nodes, list(tg.inputs) + [tg.label] + persistent,
                [tg.loss] + persistent + [v for v in grads.values() if v], g.source)
    return replace(tg, graph=out, weights=weights, grads=grads)


def _fresh(base: str, taken: dict[str, Tensor]) -> str:
    name, i = base, 0
    while name in taken:
        i += 1
        name = f"{base}{i}"
    return name
