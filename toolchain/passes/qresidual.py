"""Graph -> Graph on int8 graphs: a residual block's last QConv and the QAdd that reads it
become one QConvAdd whose output may take the skip tensor's memory (ResNet: three maps live
at the add become two). It runs as blocks of output channels through the same conv and add
kernels (ops/qconv.py), so it is bit-exact with the two ops and uses the board's SIMD conv."""

from __future__ import annotations

from toolchain.ir.graph import Graph, Node
from toolchain.ops.qconv import QConvAddParams


def fuse_qresidual(g: Graph) -> Graph:
    users = g.consumers()
    prod = g.producers()
    fused: dict[str, Node] = {}  # add node name -> replacement
    dropped: set[str] = set()
    for n in g.nodes:
        if n.op_type != "QAdd":
            continue
        for k in (0, 1):
            c = prod.get(n.inputs[k])
            skip = n.inputs[1 - k]
            if (c is None or c.op_type != "QConv" or c.params.group != 1 or len(users.get(c.outputs[0], [])) != 1
                    or c.outputs[0] in g.outputs
                    or skip == c.inputs[0] or g.tensors[skip].is_const or g.tensors[skip].shape != g.tensors[c.outputs[0]].shape
                    or c.name in dropped):
                continue
            bias = c.inputs[2] if len(c.inputs) > 2 else ""
            fused[n.name] = Node(n.name, "QConvAdd", [c.inputs[0], c.inputs[1], bias, skip], list(n.outputs),
                                 QConvAddParams(c.params, n.params, k == 0), c.origin + n.origin)
            dropped.add(c.name)
            break
    nodes = [fused.get(n.name, n) for n in g.nodes if n.name not in dropped]
    tensors = {k: t for k, t in g.tensors.items()
               if not any(p.outputs[0] == k for p in g.nodes if p.name in dropped)}
    return Graph(g.name, tensors, nodes, list(g.inputs), list(g.outputs), g.source)
