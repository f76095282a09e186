"""IR verifier: run after every pass in the tests. Raises AssertionError-like ValueError."""

from __future__ import annotations

from toolchain.ir.graph import Graph


class IRError(ValueError):
    pass


def verify_graph(g: Graph) -> None:
    defined = {name for name, t in g.tensors.items() if t.is_const}
    defined.update(g.inputs)
    for name in g.inputs:
        if name not in g.tensors:
            raise IRError(f"graph input {name!r} has no tensor")
        if g.tensors[name].is_const:
            raise IRError(f"graph input {name!r} is a constant")
    produced: set[str] = set()
    for n in g.nodes:
        for name in n.inputs:
            if name and name not in defined:
                raise IRError(f"node {n.name!r} ({n.op_type}) reads {name!r} before it is defined")
            if name and name not in g.tensors:
                raise IRError(f"node {n.name!r} reads unknown tensor {name!r}")
        for name in [o for o in n.outputs if o]:  # "" marks an output the model leaves out
            if name in produced or name in g.inputs:
                raise IRError(f"tensor {name!r} is written twice (node {n.name!r})")
            t = g.tensors.get(name)
            if t is None:
                raise IRError(f"node {n.name!r} writes unknown tensor {name!r}")
            if t.is_const:
                raise IRError(f"node {n.name!r} writes constant {name!r}")
            if any(d < 0 for d in t.shape):
                raise IRError(f"tensor {name!r} has unbound shape {t.shape}")
            produced.add(name)
            defined.add(name)
    for name in g.outputs:
        if name not in defined:
            raise IRError(f"graph output {name!r} is never produced")
    names = [n.name for n in g.nodes]
    if len(set(names)) != len(names):
        raise IRError("node names are not unique")
