"""The PyTorch oracle: interpret the forward IR with torch ops, let autograd differentiate it,
and train with torch.optim from the same start. Independent of our backward rules and
kernels: only the forward semantics of each IR op are restated here, in torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from toolchain.errors import McuforgeError
from toolchain.ir.graph import Graph, Node
from toolchain.ops.elementwise import ACTIVATIONS

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # pragma: no cover - the reference is optional at runtime
    torch = None


def require_torch() -> None:
    if torch is None:
        raise McuforgeError("the PyTorch reference needs torch (pip install 'torch<=2.13.0')")


def _act(kind: str, a: float, b: float, x: "torch.Tensor") -> "torch.Tensor":
    return ACTIVATIONS[kind].torch(torch, x, a, b)


def act(p: object, x: "torch.Tensor") -> "torch.Tensor":
    a = getattr(p, "act", None)
    return x if a is None else _act(a.kind, a.alpha, a.beta, x)


def _conv(n: Node, x, w, b):
    p = n.params
    pt, pl, pb, pr = p.win.pads
    if p.win.spatial_rank == 1:
        x = F.pad(x, (pl, pr))
        y = F.conv1d(x, w, b, stride=p.win.strides[1], dilation=p.win.dilations[1], groups=p.group)
    else:
        x = F.pad(x, (pl, pr, pt, pb))
        y = F.conv2d(x, w, b, stride=p.win.strides, dilation=p.win.dilations, groups=p.group)
    return act(p, y)


def _gemm(n: Node, a, w, c):
    p = n.params
    if p.matmul:
        y = torch.matmul(a, w) * p.alpha
    else:
        y = p.alpha * ((a.T if p.trans_a else a) @ (w.T if p.trans_b else w))
    if c is not None:
        y = y + p.beta * c
    return act(p, y)


def _pool(n: Node, x):
    p = n.params
    win = p.resolve(tuple(x.shape))
    x4 = x.unsqueeze(2) if x.dim() == 3 else x
    pt, pl, pb, pr = win.pads
    if p.is_max:
        x4 = F.pad(x4, (pl, pr, pt, pb), value=-math.inf)
        y = F.max_pool2d(x4, win.kernel, win.strides, 0, win.dilations, ceil_mode=p.ceil_mode)
    else:
        if win.dilations != (1, 1) or (pt, pl) != (pb, pr) or p.ceil_mode:
            raise McuforgeError(f"{n.name}: the torch reference has no dilated/asymmetric/ceil average pool")
        y = F.avg_pool2d(x4, win.kernel, win.strides, (pt, pl), count_include_pad=p.count_include_pad)
    return y.squeeze(2) if x.dim() == 3 else y


def _binary(n: Node, a, b):
    op = n.params.op
    y = {"ADD": lambda: a + b, "SUB": lambda: a - b, "MUL": lambda: a * b, "DIV": lambda: a / b,
         "POW": lambda: torch.pow(a, b), "MAX": lambda: torch.maximum(a, b), "MIN": lambda: torch.minimum(a, b),
         "PRELU": lambda: torch.where(a >= 0, a, a * b)}[op]()
    return act(n.params, y)


def _softmax(n: Node, x):
    p = n.params
    shape = x.shape
    axis = p.axis % x.dim()
    v = x.reshape(int(np.prod(shape[:axis])), -1) if p.flatten else x
    ax = 1 if p.flatten else axis
    y = F.log_softmax(v, ax) if p.log else F.softmax(v, ax)
    return y.reshape(shape)


def _layernorm(n: Node, x, g, b):
    ns = tuple(x.shape[n.params.axis:])
    return F.layer_norm(x, ns, None if g is None else g.reshape(ns), None if b is None else b.reshape(ns), n.params.eps)


def _slice(n: Node, x):
    p = n.params
    for d, (s, k, c) in enumerate(zip(p.starts, p.steps, p.lengths)):
        idx = torch.arange(s, s + k * c, k) if c else torch.zeros(0, dtype=torch.long)
        x = torch.index_select(x, d, idx)
    return x


def _reduce(n: Node, x):
    p = n.params
    ax, kd = list(p.axes), p.keepdims
    if not ax:
        return x
    return {"MEAN": lambda: x.mean(ax, kd), "SUM": lambda: x.sum(ax, kd), "MAX": lambda: x.amax(ax, kd),
            "MIN": lambda: x.amin(ax, kd), "SUM_SQUARE": lambda: (x * x).sum(ax, kd),
            "L1": lambda: x.abs().sum(ax, kd), "L2": lambda: (x * x).sum(ax, kd).sqrt(),
            "PROD": lambda: x.prod(ax[0], kd) if len(ax) == 1 else None}[p.op]()


def _pad(n: Node, x):
    p = n.params
    if p.mode != "constant":
        raise McuforgeError(f"{n.name}: the torch reference pads with constants only")
    pads = []
    for bgn, end in zip(reversed(p.begins), reversed(p.ends)):
        pads += [bgn, end]
    return F.pad(x, pads, value=p.value)


def _gather(n: Node, x):
    p = n.params
    idx = torch.tensor(p.indices, dtype=torch.long)
    y = torch.index_select(x, p.axis, idx)
    return y.reshape(tuple(x.shape[:p.axis]) + p.index_shape + tuple(x.shape[p.axis + 1:]))


def _split(n: Node, x):
    return list(torch.split(x, list(n.params.sizes), dim=n.params.axis))


_OPS = {
    "Conv": lambda n, xs: _conv(n, xs[0], xs[1], xs[2] if len(xs) > 2 else None),
    "Gemm": lambda n, xs: _gemm(n, xs[0], xs[1], xs[2] if len(xs) > 2 else None),
    "LayerNormalization": lambda n, xs: _layernorm(n, xs[0], xs[1] if len(xs) > 1 else None,
                                                   xs[2] if len(xs) > 2 else None),
    "Transpose": lambda n, xs: xs[0].permute(*n.params.perm),
    "Concat": lambda n, xs: torch.cat(xs, n.params.axis),
    "Slice": lambda n, xs: _slice(n, xs[0]),
    "Gather": lambda n, xs: _gather(n, xs[0]),
    "Pad": lambda n, xs: _pad(n, xs[0]),
    "Expand": lambda n, xs: xs[0].expand(*np.broadcast_shapes(tuple(xs[0].shape), n.params.values)),
    "Tile": lambda n, xs: xs[0].repeat(*n.params.values),
}


def run_node(n: Node, xs: list) -> list:
    from toolchain.ops import REGISTRY
    from toolchain.ops.elementwise import Binary, Unary
    from toolchain.ops.norm import Softmax
    from toolchain.ops.pool import Pool
    from toolchain.ops.reduce import Reduce

    op = REGISTRY.get(n.op_type)
    if op is not None and op.view:
        return [xs[0].reshape(n.params.shape)]
    if op is Unary:
        return [act(n.params, xs[0])]
    if op is Binary:
        return [_binary(n, xs[0], xs[1])]
    if op is Softmax:
        return [_softmax(n, xs[0])]
    if op is Pool:
        return [_pool(n, xs[0])]
    if op is Reduce:
        return [_reduce(n, xs[0])]
    if n.op_type == "Split":
        return _split(n, xs[0])
    key = "Gemm" if n.op_type == "MatMul" else n.op_type
    if key not in _OPS:
        raise McuforgeError(f"the torch reference has no {n.op_type} (node {n.name!r})")
    return [_OPS[key](n, xs)]


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
