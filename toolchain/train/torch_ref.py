"""The PyTorch oracle: interpret the forward IR with torch ops, let autograd differentiate it,
and train with torch.optim from the same start. Independent of our backward rules and
kernels: each op family restates its forward in torch (its Op.torch_ref, beside its numpy
reference); this module only runs the graph, the loss and the optimizer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from toolchain.errors import McuforgeError, UnsupportedOpError
from toolchain.ir.graph import Graph, Node

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # pragma: no cover - the reference is optional at runtime
    torch = None


def require_torch() -> None:
    if torch is None:
        raise McuforgeError("the PyTorch reference needs torch (pip install 'torch<=2.13.0')")


def run_node(n: Node, xs: list) -> list:
    """One node in torch: its family's torch_ref (views are reshapes)."""
    from toolchain.ops import REGISTRY

    op = REGISTRY.get(n.op_type)
    if op is not None and op.view:
        return [xs[0].reshape(n.params.shape)]
    try:
        if op is None:
            raise NotImplementedError
        return op.torch_ref(n.params, xs, torch)
    except NotImplementedError:
        raise McuforgeError(f"the torch reference has no {n.op_type} (node {n.name!r})") from None
    except UnsupportedOpError as e:
        raise McuforgeError(f"{n.name}: {e}") from None


def run_forward(g: Graph, env: dict[str, "torch.Tensor"], upto: str | None = None) -> dict[str, "torch.Tensor"]:
    """Evaluate the forward nodes of g in torch; constants not in env are taken from g."""
    env = dict(env)
    for n in g.nodes:
        xs = []
        for i in n.inputs:
            if i and i not in env:
                t = g.tensors[i]
                env[i] = torch.from_numpy(np.array(t.data)) if t.is_const else None
            xs.append(env[i] if i else None)
        for o, v in zip(n.outputs, run_node(n, xs)):
            env[o] = v
        if upto is not None and upto in n.outputs:
            break
    return env


@dataclass
class TorchRun:
    losses: list[float]
    weights: dict[str, np.ndarray]  # final values of the trainable weights


def train_reference(forward: Graph, logits: str, weights: dict[str, np.ndarray], inputs: list[str],
                    xs: list[np.ndarray], ys: np.ndarray, loss: str, optimizer, steps: int) -> TorchRun:
    """`steps` training steps in float32 torch: sample i % len(xs) at step i."""
    require_torch()
    params = {k: torch.tensor(v, dtype=torch.float32, requires_grad=True) for k, v in weights.items()}
    o = optimizer
    if o.kind == "sgd":
        opt = torch.optim.SGD(list(params.values()), lr=o.lr, momentum=o.momentum, weight_decay=o.weight_decay)
    else:
        opt = torch.optim.Adam(list(params.values()), lr=o.lr, betas=(o.beta1, o.beta2), eps=o.eps,
                               weight_decay=o.weight_decay)
    losses = []
    for s in range(steps):
        i = s % len(xs[0])
        env = {name: torch.from_numpy(np.ascontiguousarray(x[i], dtype=np.float32)) for name, x in zip(inputs, xs)}
        env.update(params)
        y = run_forward(forward, env, upto=logits)[logits]
        if loss == "cross_entropy":
            lab = torch.from_numpy(np.asarray(ys[i], dtype=np.int64).reshape(-1))
            lv = F.cross_entropy(y.reshape(lab.numel(), -1), lab)
        else:
            lv = F.mse_loss(y, torch.from_numpy(np.asarray(ys[i], dtype=np.float32).reshape(y.shape)))
        opt.zero_grad()
        lv.backward()
        opt.step()
        losses.append(float(lv.detach()))
    return TorchRun(losses, {k: v.detach().numpy().copy() for k, v in params.items()})


def gradients(forward: Graph, logits: str, env_np: dict[str, np.ndarray], wrt: list[str], loss: str,
              target: np.ndarray) -> dict[str, np.ndarray]:
    """d loss / d each name in `wrt` (inputs or constants) at one point: the per-op oracle."""
    require_torch()
    env = {k: torch.tensor(np.asarray(v, np.float32), requires_grad=k in wrt) for k, v in env_np.items()}
    for k in wrt:
        if k not in env:
            env[k] = torch.tensor(np.asarray(forward.tensors[k].data, np.float32), requires_grad=True)
    y = run_forward(forward, env, upto=logits)[logits]
    if loss == "cross_entropy":
        lab = torch.from_numpy(np.asarray(target, np.int64).reshape(-1))
        lv = F.cross_entropy(y.reshape(lab.numel(), -1), lab)
    else:
        lv = F.mse_loss(y, torch.from_numpy(np.asarray(target, np.float32).reshape(y.shape)))
    gs = torch.autograd.grad(lv, [env[k] for k in wrt], allow_unused=True)
    return {k: (np.zeros(env[k].shape, np.float32) if g is None else g.numpy()) for k, g in zip(wrt, gs)}


__all__ = ["TorchRun", "gradients", "run_forward", "train_reference"]
