"""Run an IR Graph with the ops' numpy references: the oracle for pass tests, where
onnxruntime cannot run a half-rewritten graph."""

from __future__ import annotations

import numpy as np

from toolchain.ir.graph import Graph
from toolchain.ops import REGISTRY


def run_graph(g: Graph, inputs: list[np.ndarray]) -> list[np.ndarray]:
    env: dict[str, np.ndarray] = {n: t.data for n, t in g.tensors.items() if t.is_const}
    env.update(zip(g.inputs, inputs))
    for n in g.nodes:
        op = REGISTRY.get(n.op_type)
        if hasattr(op, "run_reference"):  # ops whose constants are named in their params
            env[n.outputs[0]] = op.run_reference(n.params, n, env)
            continue
        xs = [env[i] if i else None for i in n.inputs]
        outs = op.reference(n.params, xs)
        for name, v in zip(n.outputs, outs):
            if name:
                env[name] = v
    return [env[o] for o in g.outputs]
