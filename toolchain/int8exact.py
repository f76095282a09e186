"""Which side of a 1-LSB difference is right: float64 twins of the integer transformer ops.

`verify --layers` compares every int8 tensor with onnxruntime running the QDQ file, whose
regions are float32 (DequantizeLinear -> float op -> QuantizeLinear). Where our op and
onnxruntime differ by 1 LSB, the float64 value of the same op, rounded as QuantizeLinear
rounds (half to even), says who rounded the real value correctly. On the 240x240 ViT it is
ours every time (docs/int8_vit.md): onnxruntime's float32 sums (the LayerNorm variance as
E[x^2] - E[x]^2, MatMul partial sums, (q - zp) * s products) land on the other side of a
rounding boundary about once in 10^5 to 10^6 outputs, and those flips are what the deep
residual stream then amplifies.

The twins take each op's inputs and the scales the file gives its tensors; the LayerNorm's
gamma and beta are its compiled int32 tables over 2^g_shift (within 2^-30 of the file's
constants, far below float32's 2^-24), so the twin checks the run-time arithmetic (integer
mean and variance, square root, reciprocal, rounding), not the table rounding.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from toolchain.ir.graph import Graph, Node

OPS = ("QLayerNorm", "QMatMul", "QAdd", "QAddRow")  # the ops with a float64 twin here


def _q(v: np.ndarray, zp: int, lo: int = -128, hi: int = 127) -> np.ndarray:
    return np.clip(np.round(v) + zp, lo, hi).astype(np.int64)  # np.round: half to even, as QuantizeLinear


def exact_output(g: Graph, n: Node, xs: list[np.ndarray]) -> np.ndarray:
    """The node's output as the correctly rounded float64 value of its real-valued op."""
    oq = g.tensors[n.outputs[0]].quant
    if n.op_type == "QLayerNorm":
        p = n.params
        c = xs[0].shape[-1]
        d = c * (xs[0].reshape(-1, c).astype(np.float64) - p.in_zp)
        d -= d.mean(axis=1, keepdims=True)  # c * (x - mean), exact in float64 for int8 rows
        v = (d * d).sum(axis=1, keepdims=True) + p.eps_q
        gam = xs[1].astype(np.float64) / 2.0**p.g_shift  # gamma * sqrt(c) / out_scale
        bet = xs[2].astype(np.float64) / 2.0**p.g_shift
        return _q(d / np.sqrt(v) * gam + bet, p.out_zp).reshape(xs[0].shape)
    aq, bq = g.tensors[n.inputs[0]].quant, g.tensors[n.inputs[1]].quant
    a = xs[0].astype(np.float64) - aq.zp
    b = xs[1].astype(np.float64) - bq.zp
    if n.op_type == "QMatMul":
        p = n.params
        b = np.swapaxes(b, -1, -2) if p.b_trans else b
        return _q((a @ b) * (aq.s * bq.s / oq.s), oq.zp, p.rq.act_min, p.rq.act_max)
    if n.op_type in ("QAdd", "QAddRow"):
        b = np.broadcast_to(b.reshape(-1), a.shape) if n.op_type == "QAddRow" else b.reshape(a.shape)
        rq = n.params.rq
        return _q((aq.s * a + bq.s * b) / oq.s, oq.zp, rq.act_min, rq.act_max)
    raise ValueError(f"no float64 twin for {n.op_type}")


@dataclass
class Census:
    """Per op type: outputs compared, and where ours / onnxruntime differ from each other and
    from the float64 value (`exact` counts only ops with a twin)."""

    outputs: dict[str, int] = field(default_factory=dict)
    ours_vs_ort: dict[str, int] = field(default_factory=dict)
    max_lsb: dict[str, int] = field(default_factory=dict)
    ours_vs_exact: dict[str, int] = field(default_factory=dict)
    ort_vs_exact: dict[str, int] = field(default_factory=dict)

    def add(self, key: str, ours: np.ndarray, ort: np.ndarray, exact: np.ndarray | None) -> None:
        ours, ort = ours.astype(np.int64).ravel(), ort.astype(np.int64).ravel()
        for d, v in ((self.outputs, ours.size), (self.ours_vs_ort, int(np.count_nonzero(ours != ort)))):
            d[key] = d.get(key, 0) + v
        self.max_lsb[key] = max(self.max_lsb.get(key, 0), int(np.abs(ours - ort).max(initial=0)))
        if exact is not None:
            exact = exact.ravel()
            self.ours_vs_exact[key] = self.ours_vs_exact.get(key, 0) + int(np.count_nonzero(ours != exact))
            self.ort_vs_exact[key] = self.ort_vs_exact.get(key, 0) + int(np.count_nonzero(ort != exact))


def op_census(g: Graph, ort: dict[str, np.ndarray], inputs: dict[str, np.ndarray], census: Census | None = None) -> Census:
    """Every op whose inputs and output onnxruntime exposes (int8check.ort_with_intermediates,
    optimisations off), in isolation: our numpy reference (bit-exact with the C) on
    onnxruntime's inputs against onnxruntime's output and against the float64 twin."""
    from toolchain.int8check import as_s8
    from toolchain.ir.graph import DType
    from toolchain.ops import REGISTRY

    census = census or Census()
    env = {n: t.data for n, t in g.tensors.items() if t.is_const}
    env.update(inputs)
    env.update({k: as_s8(v) for k, v in ort.items()})
    for n in g.nodes:
        o = n.outputs[0]
        if o not in ort or g.tensors[o].dtype != DType.INT8 or not all(i in env for i in n.inputs if i):
            continue
        xs = [np.asarray(env[i]).reshape(g.tensors[i].shape) if i else None for i in n.inputs]
        ours = REGISTRY.get(n.op_type).reference(n.params, xs)[0]
        key = f"{n.op_type}:{n.params.function}" if n.op_type == "QLut" else n.op_type
        census.add(key, ours, as_s8(ort[o]), exact_output(g, n, xs) if n.op_type in OPS else None)
    return census
