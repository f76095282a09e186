"""BatchNormalization -> per-channel affine, and affine/activation folding into producers.

Each pass is Graph -> Graph. They rewrite only when the intermediate tensor has exactly one
reader and is not a graph output, so no value anyone can observe changes.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from toolchain.errors import UnsupportedOpError
from toolchain.ir.graph import DType, Graph, Node, Tensor
from toolchain.ops.elementwise import BinaryParams, UnaryParams
from toolchain.ops.norm import BatchNorm


def _copy(g: Graph, nodes: list[Node], tensors: dict[str, Tensor] | None = None) -> Graph:
    return Graph(g.name, tensors if tensors is not None else dict(g.tensors), nodes, list(g.inputs),
                 list(g.outputs), g.source)


def _fresh(tensors: dict[str, Tensor], base: str) -> str:
    name, k = base, 1
    while name in tensors:
        name, k = f"{base}_{k}", k + 1
    return name


def _const(tensors: dict[str, Tensor], base: str, arr: np.ndarray) -> str:
    name = _fresh(tensors, base)
    tensors[name] = Tensor(name, tuple(arr.shape), DType.from_numpy(arr.dtype), arr)
    return name


def lower_batchnorm(g: Graph) -> Graph:
    """BatchNormalization(x) -> Mul(x, s) -> Add(., t), s and t per channel, computed once."""
    tensors = dict(g.tensors)
    nodes: list[Node] = []
    for n in g.nodes:
        if n.op_type != "BatchNormalization":
            nodes.append(n)
            continue
        params = [tensors[i].data for i in n.inputs[1:5]]
        if any(p is None for p in params):
            raise UnsupportedOpError(f"BatchNormalization node {n.name!r}: scale, bias, mean and var must be constants")
        s, t = BatchNorm.affine(n.params, *params)
        rank = len(tensors[n.inputs[0]].shape)
        shape = (-1,) + (1,) * max(rank - 2, 0)
        sn = _const(tensors, f"{n.name}/scale", s.reshape(shape))
        tn = _const(tensors, f"{n.name}/shift", t.reshape(shape))
        mid = _fresh(tensors, f"{n.name}/scaled")
        tensors[mid] = Tensor(mid, tensors[n.outputs[0]].shape, DType.FLOAT32)
        nodes.append(Node(f"{n.name}/mul", "Mul", [n.inputs[0], sn], [mid], BinaryParams("MUL"), list(n.origin)))
        nodes.append(Node(f"{n.name}/add", "Add", [mid, tn], [n.outputs[0]], BinaryParams("ADD"), list(n.origin)))
    return _copy(g, nodes, tensors)


def _merge(nodes: list[Node], tensors: dict[str, Tensor], producer: Node, user: Node, fused: Node) -> list[Node]:
    """The schedule with `fused` in the producer's place and its single reader gone; the
    intermediate tensor between them no longer exists."""
    out = [m for m in nodes if m is not user]
    out[out.index(producer)] = fused
    del tensors[producer.outputs[0]]
    return out


def _single_reader(g: Graph, t: str) -> Node | None:
    users = g.consumers().get(t, [])
    if len(users) != 1 or t in g.outputs:
        return None
    return users[0]


def per_channel(c: np.ndarray, out_shape: tuple[int, ...], axis: int = 1) -> np.ndarray | None:
    """c as one value per channel along `axis` of out_shape, or None if it is not of that form."""
    if c.ndim > len(out_shape):
        return None
    full = (1,) * (len(out_shape) - c.ndim) + c.shape
    if any(d != 1 for i, d in enumerate(full) if i != axis) or full[axis] not in (1, out_shape[axis]):
        return None
    return np.broadcast_to(c.reshape(-1), (out_shape[axis],)).astype(np.float64)


def fold_conv_affine(g: Graph) -> Graph:
    """Conv -> Mul(per-channel const) / Add(per-channel const): into the weights and bias."""
    tensors = dict(g.tensors)
    nodes = list(g.nodes)
    changed = True
    while changed:
        changed = False
        cur = _copy(g, nodes, tensors)
        for idx, n in enumerate(nodes):
            if n.op_type != "Conv" or n.params.act.kind != "NONE":
                continue
            w = tensors[n.inputs[1]].data
            if w is None:
                continue
            user = _single_reader(cur, n.outputs[0])
            if user is None or user.op_type not in ("Mul", "Add"):
                continue
            other = user.inputs[1] if user.inputs[0] == n.outputs[0] else user.inputs[0]
            c = tensors[other].data
            vec = per_channel(c, tensors[n.outputs[0]].shape) if c is not None else None
            if vec is None:
                continue
            has_b = len(n.inputs) > 2 and bool(n.inputs[2])
            b = tensors[n.inputs[2]].data.astype(np.float64) if has_b else np.zeros(w.shape[0])
            if b is None:
                continue
            if user.op_type == "Mul":
                w_new = (w.astype(np.float64) * vec.reshape((-1,) + (1,) * (w.ndim - 1))).astype(np.float32)
                b_new = (b * vec).astype(np.float32)
            else:
                w_new, b_new = w, (b + vec).astype(np.float32)
            wn = _const(tensors, f"{n.name}/W", w_new) if w_new is not w else n.inputs[1]
            bn = _const(tensors, f"{n.name}/B", b_new)
            fused = Node(n.name, "Conv", [n.inputs[0], wn, bn], list(user.outputs), n.params,
                         n.origin + user.origin)
            nodes = _merge(nodes, tensors, n, user, fused)
            changed = True
            break
    return _copy(g, nodes, tensors)


_ACT_HOSTS = ("Conv", "Gemm", "MatMul", "Add", "Sub", "Mul", "Div")


def fuse_activation(g: Graph) -> Graph:
    """Conv / Gemm / binary -> unary activation: the activation runs in the producer's epilogue.

    One pass: a fusion never changes who reads another host's output (the fused node reads
    what the host read), so each host is decided once, against the graph's readers; a
    rewrite per fusion made long chains quadratic."""
    tensors = dict(g.tensors)
    users = g.consumers()
    fused_at: dict[int, Node] = {}  # id(host) -> fused node
    dropped: set[int] = set()  # id(activation) now inside its host
    for n in g.nodes:
        if n.op_type not in _ACT_HOSTS or n.params.act.kind != "NONE" or len(n.outputs) != 1:
            continue
        us = users.get(n.outputs[0], [])
        if len(us) != 1 or n.outputs[0] in g.outputs or not isinstance(us[0].params, UnaryParams):
            continue
        user = us[0]
        fused_at[id(n)] = Node(n.name, n.op_type, list(n.inputs), list(user.outputs),
                               replace(n.params, act=user.params.act), n.origin + user.origin)
        dropped.add(id(user))
        del tensors[n.outputs[0]]
    nodes = [fused_at.get(id(m), m) for m in g.nodes if id(m) not in dropped]
    return _copy(g, nodes, tensors)


def fuse_matmul_bias(g: Graph) -> Graph:
    """MatMul -> Add(const bias along the last dim): one Gemm call with a bias epilogue."""
    nodes = list(g.nodes)
    tensors = dict(g.tensors)
    cur = g
    for n in list(nodes):
        if n.op_type != "MatMul" or len(n.inputs) != 2 or n.params.act.kind != "NONE":
            continue
        out = tensors[n.outputs[0]]
        if len(out.shape) < 2:
            continue
        user = _single_reader(cur, n.outputs[0])
        if user is None or user.op_type != "Add" or user.params.act.kind != "NONE":
            continue
        other = user.inputs[1] if user.inputs[0] == n.outputs[0] else user.inputs[0]
        c = tensors[other].data
        if c is None or c.ndim > len(out.shape):
            continue
        if per_channel(c, out.shape, axis=len(out.shape) - 1) is None:
            continue
        if tensors[user.outputs[0]].shape != out.shape:
            continue
        bias = _const(tensors, f"{n.name}/bias", np.broadcast_to(c.reshape(-1), (out.shape[-1],)).astype(np.float32))
        fused = Node(n.name, "MatMul", [n.inputs[0], n.inputs[1], bias], list(user.outputs),
                     replace(n.params, beta=1.0), n.origin + user.origin)
        nodes = _merge(nodes, tensors, n, user, fused)
        cur = _copy(g, nodes, tensors)
    return _copy(g, nodes, tensors)


def drop_unused(g: Graph) -> Graph:
    """Remove constants no node reads (folded-away weights, replaced BN parameters)."""
    used = {i for n in g.nodes for i in n.inputs} | set(g.outputs) | set(g.inputs)
    used |= {o for n in g.nodes for o in n.outputs if o}
    return _copy(g, list(g.nodes), {k: v for k, v in g.tensors.items() if k in used})

