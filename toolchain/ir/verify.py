"""IR verifier: run after every pass in the tests. Raises AssertionError-like ValueError."""

from __future__ import annotations

import math

from toolchain.ir.graph import DType, Graph, Tensor


class IRError(ValueError):
    pass


_QRANGE = {DType.INT8: (-128, 127), DType.UINT8: (0, 255), DType.INT32: (-2**31, 2**31 - 1)}


def verify_quant(t: Tensor) -> None:
    """A tensor's quantisation is consistent with its dtype and shape."""
    q = t.quant
    if q is None:
        return
    if t.dtype not in _QRANGE:
        raise IRError(f"tensor {t.name!r} is {t.dtype.value} but carries a quantisation (int8/uint8/int32 only)")
    if len(q.scale) != len(q.zero_point) or not q.scale:
        raise IRError(f"tensor {t.name!r}: {len(q.scale)} scales but {len(q.zero_point)} zero points")
    if not all(math.isfinite(s) and s > 0 for s in q.scale):
        raise IRError(f"tensor {t.name!r}: quantisation scales must be finite and positive")
    lo, hi = _QRANGE[t.dtype]
    if not all(lo <= z <= hi for z in q.zero_point):
        raise IRError(f"tensor {t.name!r}: zero point outside the {t.dtype.value} range")
    if q.axis is None:
        if len(q.scale) != 1:
            raise IRError(f"tensor {t.name!r}: per-tensor quantisation with {len(q.scale)} scales")
    elif not 0 <= q.axis < len(t.shape) or t.shape[q.axis] != len(q.scale):
        raise IRError(f"tensor {t.name!r}: per-channel axis {q.axis} does not match shape {t.shape} "
                      f"({len(q.scale)} scales)")


def verify_graph(g: Graph) -> None:
    for t in g.tensors.values():
        verify_quant(t)
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
