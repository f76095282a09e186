"""Run a (training) Graph in numpy with each op's reference: the oracle for the C kernels."""

from __future__ import annotations

import numpy as np

from toolchain.ir.graph import Graph
from toolchain.ops import REGISTRY
from toolchain.train.loss_optim import UpdateOp


def run_graph(g: Graph, env: dict[str, np.ndarray], step: int = 1) -> dict[str, np.ndarray]:
    """Evaluate every node in order; optimizer updates rewrite their inputs in `env`."""
    env = dict(env)
    for name, t in g.tensors.items():
        if t.is_const:
            env.setdefault(name, t.data)
    for n in g.nodes:
        op = REGISTRY.get(n.op_type)
        xs = [env[i] if i else None for i in n.inputs]
        if isinstance(op, type) and issubclass(op, UpdateOp):
            new = op.update(n.params, xs, step)
            for idx, v in zip(op.mutates, new):
                env[n.inputs[idx]] = v
            continue
        for o, v in zip(n.outputs, op.reference(n.params, xs)):
            env[o] = np.asarray(v).reshape(g.tensors[o].shape)
    return env
