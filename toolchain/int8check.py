"""Seeded inputs for int8 models and layer-by-layer comparison with onnxruntime.

Uniform int8 noise saturates a classifier's softmax (one class 127, the rest -128), which
hides errors: the inputs here are smooth structured fields (a few random low-frequency
waves plus a little noise, like an image or a spectrogram), quantised over most of the
input's range. Every intermediate int8 tensor that exists in the ONNX file under the same
name is compared in LSBs (ORT exposes it when it is added as a graph output).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnx

from toolchain.ir.graph import DType, Graph, Tensor


def smooth_field(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Values in [0, 1], smooth along every axis of size > 1 (sums of random cosines)."""
    grids = np.meshgrid(*[np.linspace(0.0, 1.0, max(d, 1)) for d in shape], indexing="ij")
    f = np.zeros(shape)
    for _ in range(4):
        phase = rng.uniform(0, 2 * np.pi)
        arg = sum(rng.uniform(0.5, 3.0) * 2 * np.pi * g * (d > 1) for g, d in zip(grids, shape))
        f += rng.uniform(0.5, 1.0) * np.cos(arg + phase)
    f += 0.1 * rng.standard_normal(shape)
    lo, hi = f.min(), f.max()
    return (f - lo) / (hi - lo) if hi > lo else np.full(shape, 0.5)


def seeded_input(t: Tensor, rng: np.random.Generator) -> np.ndarray:
    u = smooth_field(t.shape, rng)
    if t.dtype == DType.INT8:
        return np.round(-128 + 255 * (0.05 + 0.9 * u)).astype(np.int8)
    if t.dtype == DType.UINT8:
        return np.round(255 * (0.05 + 0.9 * u)).astype(np.uint8)
    return (4.0 * u - 2.0).astype(np.float32)  # a float input quantised by the model


@dataclass
class LayerDiff:
    """One int8 tensor: max |ours - onnxruntime| in LSBs along the whole chain (max_lsb,
    count of differing elements), and the layer in isolation: our op's numpy reference on
    onnxruntime's own inputs vs onnxruntime's output (op_lsb), and the generated C vs that
    reference on the C's inputs (kernel_lsb, always 0 unless a kernel is wrong). Over a deep
    network ties rounded differently (ORT's float path vs exact integers) can compound to
    more than 1 LSB in the chain; a layer diverges when op_lsb > 1 or kernel_lsb > 0."""

    name: str
    node: str
    max_lsb: int
    count: int
    op_lsb: int | None = None
    kernel_lsb: int | None = None

    @property
    def ok(self) -> bool:
        if self.op_lsb is None and self.kernel_lsb is None:
            return self.max_lsb <= 1
        return (self.op_lsb is None or self.op_lsb <= 1) and not self.kernel_lsb


def intermediate_names(g: Graph, model: onnx.ModelProto) -> list[tuple[str, str]]:
    """(tensor, producing node) for every int8 tensor of the graph that the ONNX file names."""
    onnx_names = {o for n in model.graph.node for o in n.output}
    out = []
    for n in g.nodes:
        for o in n.outputs:
            if o and o in onnx_names and g.tensors[o].dtype == DType.INT8 and o not in g.outputs:
                out.append((o, n.name))
    return out


def ort_with_intermediates(model: onnx.ModelProto, names: list[str], feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    import onnxruntime as ort

    m = onnx.ModelProto()
    m.CopyFrom(model)
    have = {o.name for o in m.graph.output}
    for name in names:
        if name not in have:
            m.graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.INT8, None))
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    sess = ort.InferenceSession(m.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    outs = [o.name for o in m.graph.output]
    return dict(zip(outs, sess.run(outs, feeds)))


def _lsb(a: np.ndarray, b: np.ndarray) -> int:
    a = np.asarray(a).astype(np.int64).reshape(-1)
    b = np.asarray(b).astype(np.int64).reshape(-1)
    return int(np.max(np.abs(a - b), initial=0)) if a.size == b.size else 1 << 30


def compare_layers(g: Graph, ours: dict[str, np.ndarray], ref: dict[str, np.ndarray],
                   inputs: dict[str, np.ndarray] | None = None) -> list[LayerDiff]:
    """In schedule order, for every int8 tensor both sides have (see LayerDiff)."""
    from toolchain.ops import REGISTRY

    consts = {n: t.data for n, t in g.tensors.items() if t.is_const}
    env_c = {**consts, **(inputs or {}), **ours}
    env_r = {**consts, **(inputs or {}), **ref}
    out = []
    for n in g.nodes:
        op = REGISTRY.get(n.op_type)
        for k, o in enumerate(n.outputs):
            if not (o in ours and o in ref) or g.tensors[o].dtype != DType.INT8:
                continue
            a, b = np.asarray(ours[o]).reshape(-1), np.asarray(ref[o]).reshape(-1)
            lsb = _lsb(a, b)
            count = int(np.count_nonzero(a.astype(np.int64) != b.astype(np.int64))) if a.size == b.size else a.size
            op_lsb = kernel_lsb = None
            shape = g.tensors[o].shape
            if all(i in env_r for i in n.inputs if i):
                xs = [np.asarray(env_r[i]).reshape(g.tensors[i].shape) if i else None for i in n.inputs]
                op_lsb = _lsb(op.reference(n.params, xs)[k], b)
            if all(i in env_c for i in n.inputs if i):
                xs = [np.asarray(env_c[i]).astype(g.tensors[i].dtype.numpy).reshape(g.tensors[i].shape) if i else None
                      for i in n.inputs]
                kernel_lsb = _lsb(op.reference(n.params, xs)[k].reshape(shape), a)
            out.append(LayerDiff(o, n.name, lsb, count, op_lsb, kernel_lsb))
    return out


def first_divergence(diffs: list[LayerDiff]) -> LayerDiff | None:
    return next((d for d in diffs if not d.ok), None)


def lsb_tolerances(g: Graph) -> list[float]:
    """1 LSB per output: 1 for integer outputs, the DequantizeLinear scale for float ones."""
    prod = g.producers()
    out = []
    for name in g.outputs:
        t = g.tensors[name]
        n = prod.get(name)
        if t.dtype.is_float and n is not None and n.op_type == "MfDequantize":
            out.append(float(n.params.scale) * (1 + 1e-4))  # float32 noise of (q - zp) * s
        else:
            out.append(1.0)
    return out


def int8_reference(model: onnx.ModelProto, g: Graph, inputs: list[np.ndarray]) -> tuple[list[np.ndarray], dict]:
    """onnxruntime's outputs and intermediates for an int8 graph, every intermediate exposed.

    Exposing them keeps each DQ -> op -> Q region as the file writes it (float op, then one
    rounding). Left alone, onnxruntime fuses some regions into its own integer kernels
    (QLinearAveragePool...) whose rounding differs by up to 1 LSB, and a 1-LSB change in the
    logits moves a softmax with scale 1/256 by many LSBs: that run is reported beside it."""
    names = [t for t, _ in intermediate_names(g, model)]
    allv = ort_with_intermediates(model, names, dict(zip(g.inputs, inputs)))
    return [allv[o.name] for o in model.graph.output], allv


def with_intermediate_outputs(g: Graph, model: onnx.ModelProto) -> Graph:
    """g with every intermediate int8 tensor the ONNX file names added to its outputs."""
    from toolchain.errors import UnsupportedOpError

    if not any(t.dtype == DType.INT8 and not t.is_const for t in g.tensors.values()):
        raise UnsupportedOpError("--layers compares int8 tensors: the model is not quantised")
    # a float output is the DequantizeLinear of an int8 tensor that is compared instead (the
    # generated API has one element type per side)
    keep = [o for o in g.outputs if g.tensors[o].dtype != DType.FLOAT32]
    g.outputs = keep + [t for t, _ in intermediate_names(g, model) if t not in keep]
    return g
