"""What trains and how: trainable selection, loss and optimizer choices (plain typed values)."""

from __future__ import annotations

from dataclasses import dataclass

from toolchain.errors import McuforgeError
from toolchain.ir.graph import Graph, Node
from toolchain.train.loss_optim import AdamParams, SgdParams

LOSSES = ("cross_entropy", "mse")
OPTIMIZERS = ("sgd", "adam")

# op type -> (weight input indices, bias input indices) of a "layer with weights"
_WEIGHT_SLOTS: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
    "Conv": ((1,), (2,)),
    "Gemm": ((1,), (2,)),
    "MatMul": ((1,), (2,)),
    "LayerNormalization": ((1,), (2,)),
}


class TrainSpecError(McuforgeError):
    """A trainable selection, loss or optimizer that cannot be honoured."""


@dataclass(frozen=True)
class OptimizerSpec:
    kind: str = "sgd"
    lr: float = 0.01
    momentum: float = 0.0
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    weight_decay: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in OPTIMIZERS:
            raise TrainSpecError(f"optimizer {self.kind!r}: expected one of {', '.join(OPTIMIZERS)}")
        if self.kind == "adam" and self.momentum:
            raise TrainSpecError("--momentum applies to sgd; Adam uses beta1/beta2")

    def params(self) -> SgdParams | AdamParams:
        if self.kind == "sgd":
            return SgdParams(self.lr, self.momentum, self.weight_decay)
        return AdamParams(self.lr, self.beta1, self.beta2, self.eps, self.weight_decay)

    @property
    def state_names(self) -> tuple[str, ...]:
        """Per-weight state buffers, in the update op's input order after (w, g)."""
        if self.kind == "adam":
            return ("adam_m", "adam_v")
        return ("momentum",) if self.momentum else ()


@dataclass(frozen=True)
class Slot:
    """One trainable input of one node: (node name, input index)."""

    node: str
    index: int


def _is_const(g: Graph, name: str) -> bool:
    return bool(name) and name in g.tensors and g.tensors[name].is_const and g.tensors[name].dtype.is_float


def layer_slots(g: Graph, n: Node) -> tuple[list[int], list[int]]:
    """(weight input indices, bias input indices) of a node that has constant weights."""
    w_idx, b_idx = _WEIGHT_SLOTS.get(n.op_type, ((), ()))
    if n.op_type in ("Gemm", "MatMul") and len(n.inputs) > 0 and _is_const(g, n.inputs[0]):
        return [], []  # a constant left operand: not a layer we know how to train
    ws = [i for i in w_idx if i < len(n.inputs) and _is_const(g, n.inputs[i])]
    bs = [i for i in b_idx if i < len(n.inputs) and _is_const(g, n.inputs[i])]
    return ws, bs


def layers_with_weights(g: Graph) -> list[Node]:
    return [n for n in g.nodes if any(layer_slots(g, n))]


def select_trainable(g: Graph, spec: str) -> list[Slot]:
    """`last:N` | `all` | `biases` | comma-separated names (node, ONNX node or weight tensor)."""
    layers = layers_with_weights(g)
    spec = spec.strip()

    def slots(nodes: list[Node], weights: bool = True, biases: bool = True) -> list[Slot]:
        out = []
        for n in nodes:
            ws, bs = layer_slots(g, n)
            out += [Slot(n.name, i) for i in (ws if weights else []) + (bs if biases else [])]
        return out

    if spec == "all":
        chosen = slots(layers)
    elif spec == "biases":
        chosen = slots(layers, weights=False)
    elif spec.startswith("last:"):
        try:
            k = int(spec[5:])
        except ValueError:
            raise TrainSpecError(f"--trainable {spec!r}: expected last:N with an integer N") from None
        if not 1 <= k <= len(layers):
            raise TrainSpecError(f"--trainable {spec!r}: the model has {len(layers)} layers with weights")
        chosen = slots(layers[-k:])
    else:
        chosen = []
        for item in (s.strip() for s in spec.split(",") if s.strip()):
            hit = [n for n in layers if item == n.name or item in n.origin]
            found = slots(hit)
            for n in layers:
                ws, bs = layer_slots(g, n)
                found += [Slot(n.name, i) for i in ws + bs if n.inputs[i] == item]
            if not found:
                names = ", ".join(n.name for n in layers[-5:])
                raise TrainSpecError(f"--trainable: no layer or weight named {item!r} (layers with weights "
                                     f"end with: {names})")
            chosen += [s for s in found if s not in chosen]
    if not chosen:
        raise TrainSpecError(f"--trainable {spec!r} selects nothing to train")
    return chosen
