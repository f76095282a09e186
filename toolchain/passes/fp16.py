"""Graph -> Graph: store every float tensor as FP16 (weights in flash and activations in the
arena both halve), keeping the model's float32 inputs and outputs behind MfCast nodes so the
caller's API does not change.

Runs after the other passes (fusion sees the FP32 graph) and before memory planning, which
then sizes FP16 buffers.
"""

from __future__ import annotations

import numpy as np

from toolchain.ir.graph import DType, Graph, Node, Tensor
from toolchain.ops.cast import CastParams


def to_fp16(g: Graph) -> Graph:
    tensors: dict[str, Tensor] = {}
    for name, t in g.tensors.items():
        if t.dtype != DType.FLOAT32:
            tensors[name] = t
        elif t.is_const:
            tensors[name] = Tensor(name, t.shape, DType.FLOAT16, np.asarray(t.data).astype(np.float16))
        else:
            tensors[name] = Tensor(name, t.shape, DType.FLOAT16)
    rename: dict[str, str] = {}
    head: list[Node] = []
    tail: list[Node] = []
    for name in g.inputs:
        if g.tensors[name].dtype != DType.FLOAT32:
            continue
        inner = _fresh(f"{name}.f16", tensors)
        tensors[name] = g.tensors[name]
        tensors[inner] = Tensor(inner, g.tensors[name].shape, DType.FLOAT16)
        rename[name] = inner
        head.append(Node(f"{name}.to_f16", "MfCast", [name], [inner], CastParams(DType.FLOAT16), [name]))
    for name in g.outputs:
        t = g.tensors[name]
        if t.dtype != DType.FLOAT32 or name in rename:
            continue
        inner = _fresh(f"{name}.f16", tensors)
        tensors[inner] = Tensor(inner, t.shape, DType.FLOAT16,
                                None if t.data is None else np.asarray(t.data).astype(np.float16))
        tensors[name] = Tensor(name, t.shape, DType.FLOAT32)
        rename[name] = inner
        tail.append(Node(f"{name}.to_f32", "MfCast", [inner], [name], CastParams(DType.FLOAT32), [name]))
    nodes = [Node(n.name, n.op_type, [rename.get(i, i) for i in n.inputs],
                  [rename.get(o, o) for o in n.outputs], n.params, list(n.origin)) for n in g.nodes]
    return Graph(g.name, tensors, head + nodes + tail, list(g.inputs), list(g.outputs), g.source)


def _fresh(base: str, taken: dict[str, Tensor]) -> str:
    name, i = base, 0
    while name in taken:
        i += 1
        name = f"{base}{i}"
    return name
