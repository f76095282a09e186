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


def ort_references(model: onnx.ModelProto, names: list[str], feeds: dict[str, np.ndarray]) -> list[dict[str, np.ndarray]]:
    """onnxruntime's two ways of running a quantised file, every named tensor exposed:

    - as it deploys it (graph optimisations on): its QDQ fusions swap regions for its own
      integer kernels (QLinearConv, QLinearAveragePool...), which round like integer code but,
      on x86 without VNNI, saturate int16 pair sums in u8s8 convolutions (many LSB off);
    - as the file reads (optimisations off): each region a float op then QuantizeLinear,
      whose float rounding breaks exact ties (an average over 64 values) either way.
    Ours is within 1 LSB of one of them on every tensor; which one is reported."""
    return [ort_with_intermediates(model, names, feeds, optimize=True),
            ort_with_intermediates(model, names, feeds, optimize=False)]


def ort_with_intermediates(model: onnx.ModelProto, names: list[str], feeds: dict[str, np.ndarray],
                           optimize: bool = False) -> dict[str, np.ndarray]:
    import onnxruntime as ort

    m = onnx.ModelProto()
    m.CopyFrom(model)
    have = {o.name for o in m.graph.output}
    try:  # int8 or uint8, as the file has it
        inferred = onnx.shape_inference.infer_shapes(m).graph
        types = {vi.name: vi.type.tensor_type.elem_type for vi in list(inferred.value_info) + list(inferred.output)}
    except Exception:
        types = {}
    # contrib ops (QLinearAdd...) have no type inference: their output zero point's type says
    zp_input = {"QuantizeLinear": 2, "QLinearConv": 7, "QLinearMatMul": 7, "QLinearAdd": 7,
                "QLinearAveragePool": 4, "QLinearGlobalAveragePool": 4, "QLinearSoftmax": 4, "QLinearConcat": 1}
    inits = {i.name: i.data_type for i in m.graph.initializer}
    for n in m.graph.node:  # in order: movement ops keep their input's type
        k = zp_input.get(n.op_type)
        if k is not None and n.output[0] not in types and k < len(n.input) and n.input[k] in inits:
            types[n.output[0]] = inits[n.input[k]]
        elif n.op_type in ("Flatten", "Reshape", "Transpose", "Squeeze", "Unsqueeze", "Identity") and \
                n.output[0] not in types and n.input[0] in types:
            types[n.output[0]] = types[n.input[0]]
    for name in names:
        if name not in have:
            elem = types.get(name) or onnx.TensorProto.INT8
            m.graph.output.append(onnx.helper.make_tensor_value_info(name, elem, None))
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    if not optimize:  # each region as written (see ort_references)
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(m.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    outs = [o.name for o in m.graph.output]
    return dict(zip(outs, sess.run(outs, feeds)))


def as_s8(x: np.ndarray) -> np.ndarray:
    """uint8 values as the int8 tensors the graph holds (shifted by -128, exact)."""
    x = np.asarray(x)
    return (x.astype(np.int16) - 128).astype(np.int8) if x.dtype == np.uint8 else x


def _lsb(a: np.ndarray, b: np.ndarray) -> int:
    a = np.asarray(a).astype(np.int64).reshape(-1)
    b = np.asarray(b).astype(np.int64).reshape(-1)
    return int(np.max(np.abs(a - b), initial=0)) if a.size == b.size else 1 << 30


def compare_layers(g: Graph, ours: dict[str, np.ndarray], ref: dict[str, np.ndarray] | list[dict[str, np.ndarray]],
                   inputs: dict[str, np.ndarray] | None = None) -> list[LayerDiff]:
    """In schedule order, for every int8 tensor both sides have (see LayerDiff); given several
    references (ort_references), each tensor is reported against the closest one."""
    if isinstance(ref, list):
        runs = [compare_layers(g, ours, r, inputs) for r in ref]
        return [min(ds, key=lambda d: (not d.ok, d.max_lsb, d.op_lsb or 0)) for ds in zip(*runs)]
    from toolchain.ops import REGISTRY

    consts = {n: t.data for n, t in g.tensors.items() if t.is_const}
    env_c = {**consts, **(inputs or {}), **ours}
    env_r = {**consts, **(inputs or {}), **{k: as_s8(v) for k, v in ref.items()}}
    out = []
    for n in g.nodes:
        op = REGISTRY.get(n.op_type)
        for k, o in enumerate(n.outputs):
            if not (o in ours and o in ref) or g.tensors[o].dtype != DType.INT8:
                continue
            a, b = np.asarray(ours[o]).reshape(-1), as_s8(ref[o]).reshape(-1)
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


def int8_reference(model: onnx.ModelProto, g: Graph, inputs: list[np.ndarray]) -> list[list[np.ndarray]]:
    """The model's outputs from each of ort_references (every intermediate exposed, so each
    region's rounding is onnxruntime's, not a fusion across regions)."""
    names = [t for t, _ in intermediate_names(g, model)]
    runs = ort_references(model, names, dict(zip(g.inputs, inputs)))
    return [[r[o.name] for o in model.graph.output] for r in runs]


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
