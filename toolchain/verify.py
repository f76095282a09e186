"""Compile, build for the host, run on seeded inputs, compare with onnxruntime."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx

from toolchain.boards import load_board
from toolchain.errors import DoesNotFitError, McuforgeError
from toolchain.api import CompiledModel, CompileOptions, compile_model, is_int8_graph, write_sources
from toolchain.frontend import read_model
from toolchain.build.host import build_host, run_host
from toolchain.int8check import int8_reference, lsb_tolerances, seeded_input
from toolchain.quantize import int8_model

class NoReference(McuforgeError):
    """onnxruntime refuses a model that mcuforge compiles (duplicate node names, SAME_UPPER with
    dilations, negative pads, ...): the model is outside what the reference accepts."""


# An output matches when max |ours - onnxruntime| <= ATOL * max(1, max |onnxruntime|):
# absolute for outputs of order one (probabilities, normalised logits), relative beyond.
ATOL = 1e-4
# FP16 weights and activations: about 3 decimal digits, and SIMD kernels that accumulate in
# FP16 over long dot products lose more; top-1 agreement is reported beside it.
FP16_ATOL = 2e-2


@dataclass
class OutputError:
    name: str
    max_abs_error: float
    max_rel_error: float  # max |diff| / max |reference| (norm-wise, robust near zero)
    match: bool


@dataclass
class VerifyResult:
    model: str
    outputs: list[OutputError]
    arena_bytes: int
    weight_bytes: int
    macs: int
    tolerance: float = ATOL
    extra: dict = field(default_factory=dict)

    @property
    def max_abs_error(self) -> float:
        return max((o.max_abs_error for o in self.outputs), default=0.0)

    @property
    def max_rel_error(self) -> float:
        return max((o.max_rel_error for o in self.outputs), default=0.0)

    @property
    def match(self) -> bool:
        return all(o.match for o in self.outputs)

    def as_dict(self) -> dict:
        return {"model": self.model, "match": self.match, "max_abs_error": self.max_abs_error,
                "max_rel_error": self.max_rel_error, "tolerance_abs": self.tolerance,
                "arena_bytes": self.arena_bytes, "weight_bytes": self.weight_bytes, "macs": self.macs,
                "outputs": [o.__dict__ for o in self.outputs], **self.extra}


def seeded_inputs(cm: CompiledModel, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    if is_int8_graph(cm.graph):  # quantised images/features, not noise (int8check)
        return [seeded_input(cm.graph.tensors[n], rng) for n in cm.graph.inputs]
    return [rng.standard_normal(cm.graph.tensors[n].shape).astype(np.float32) for n in cm.graph.inputs]


def ort_inputs(model: onnx.ModelProto, cm: CompiledModel, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """What onnxruntime is fed for our inputs: an input the file declares float that we take
    as its quantised integers (--int-input) goes in dequantised, which the file's own
    QuantizeLinear maps back to the same integers exactly."""
    declared = {i.name: i.type.tensor_type.elem_type for i in model.graph.input}
    out = []
    for name, x in zip(cm.graph.inputs, inputs):
        t = cm.graph.tensors[name]
        if declared.get(name) == onnx.TensorProto.FLOAT and not t.dtype.is_float and t.quant is not None:
            x = ((np.asarray(x, np.float32) - np.float32(t.quant.zero_point[0])) * np.float32(t.quant.scale[0]))
        out.append(np.asarray(x))
    return out


def onnxruntime_outputs(model: onnx.ModelProto, names: list[str], inputs: list[np.ndarray]) -> list[np.ndarray]:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    try:
        sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
        want = {i.name: i.type for i in sess.get_inputs()}
        feeds = {n: np.asarray(x).astype(ORT_NUMPY.get(want.get(n), np.asarray(x).dtype)) for n, x in zip(names, inputs)}
        return [np.asarray(v) for v in sess.run(None, feeds)]
    except Exception as e:  # onnxruntime's own zoo (Fail, InvalidGraph, RuntimeException, ...)
        first = next((ln.strip() for ln in str(e).splitlines() if ln.strip()), type(e).__name__)
        raise NoReference(f"onnxruntime cannot run this model ({first[:300]}); mcuforge compiled, built "
                          f"and ran it, but has no reference to compare its outputs with") from None


def check_reference_shapes(cm: CompiledModel, ref: list[np.ndarray]) -> None:
    """Our output shapes follow the ONNX spec and agree with onnx's shape inference (the
    frontend checks); where onnxruntime returns other shapes (it computes SAME_UPPER pads
    without the dilation) there is nothing to compare, which is not a numeric mismatch."""
    for name, r in zip(cm.graph.outputs, ref):
        want = cm.graph.tensors[name].shape
        if tuple(np.shape(r)) != tuple(want) and np.size(r) != int(np.prod(want)):
            raise NoReference(f"onnxruntime returns output {name!r} with shape {tuple(np.shape(r))} where the "
                              f"ONNX shape rules give {tuple(want)}; mcuforge compiled, built and ran it, but "
                              f"has no reference to compare its outputs with")


# onnxruntime's input type names -> numpy (integer inputs of int8 models)
ORT_NUMPY = {"tensor(float)": np.float32, "tensor(int8)": np.int8, "tensor(uint8)": np.uint8}


def compare(names: list[str], ours: list[np.ndarray], ref: list[np.ndarray], atol: float = ATOL,
            abs_tol: list[float] | None = None) -> list[OutputError]:
    """abs_tol: per output, an absolute tolerance instead (int8 models: 1 LSB)."""
    out = []
    for k, (name, y, r) in enumerate(zip(names, ours, ref)):
        r = np.asarray(r, dtype=np.float64).reshape(-1)
        y = np.asarray(y, dtype=np.float64).reshape(-1)
        if y.shape != r.shape:
            out.append(OutputError(name, float("inf"), float("inf"), False))
            continue
        # NaN where both are NaN and equal infinities are agreement, not an error
        same = (np.isnan(y) & np.isnan(r)) | (np.isinf(r) & (y == r))
        with np.errstate(invalid="ignore"):
            d = np.where(same, 0.0, np.abs(y - r))
        d = np.where(np.isnan(d), np.inf, d)
        r = np.where(np.isfinite(r), r, 0.0)
        diff = float(np.max(d)) if r.size else 0.0
        scale = float(np.max(np.abs(r))) if r.size else 0.0
        rel = diff / scale if scale > 0 else diff
        tol = abs_tol[k] if abs_tol is not None else atol * max(1.0, scale)
        out.append(OutputError(name, diff, rel, bool(diff <= tol)))
    return out


def verify(path: str | Path, input_shapes: dict[str, tuple[int, ...]] | None = None, seed: int = 0,
           options: CompileOptions = CompileOptions(), sanitize: bool = False,
           work_dir: str | Path | None = None, dtype: str = "fp32") -> VerifyResult:
    """dtype "int8" on a float model: quantised first (mcuforge quantize, seeded), then the
    generated C is compared with onnxruntime on that QDQ file."""
    with tempfile.TemporaryDirectory(prefix="mcuforge-q-") as qtmp:
        _, path = int8_model(path, dtype, qtmp, seed)
        return _verify(path, input_shapes, seed, options, sanitize, work_dir)


def _verify(path: str | Path, input_shapes: dict[str, tuple[int, ...]] | None, seed: int,
            options: CompileOptions, sanitize: bool, work_dir: str | Path | None) -> VerifyResult:
    model = read_model(path)
    cm = compile_model(path, input_shapes, options)
    host_ram = load_board("host").memory.ram.size
    if cm.arena_bytes > host_ram:  # before any input is drawn: sizes first, then work
        raise DoesNotFitError(f"model needs {cm.arena_bytes} bytes of arena; the host check is limited to "
                              f"the host board's {host_ram} bytes (boards/host.toml)")
    with tempfile.TemporaryDirectory(prefix="mcuforge-verify-") as tmp:
        src = write_sources(cm, Path(work_dir or tmp))
        exe = build_host(src, len(cm.graph.inputs), sanitize=sanitize)
        inputs = seeded_inputs(cm, seed)
        ours = run_host(exe, inputs, [cm.graph.tensors[o].size for o in cm.graph.outputs])
    inputs = ort_inputs(model, cm, inputs)
    ref = onnxruntime_outputs(model, cm.graph.inputs, inputs)
    check_reference_shapes(cm, ref)
    if is_int8_graph(cm.graph):
        return VerifyResult(str(path), *compare_int8(model, cm, ours, inputs, ref))
    return VerifyResult(str(path), compare(cm.graph.outputs, ours, ref), cm.arena_bytes, cm.weight_bytes, cm.macs)


def compare_int8(model: onnx.ModelProto, cm: CompiledModel, ours: list[np.ndarray], inputs: list[np.ndarray],
                 ort_default: list[np.ndarray]) -> tuple:
    """VerifyResult fields for an int8 model: within 1 LSB of onnxruntime running the QDQ
    regions as written (int8check.int8_reference); the default (fused) run's LSBs as extra."""
    tols = lsb_tolerances(cm.graph)
    deployed, as_written = (compare(cm.graph.outputs, ours, r, abs_tol=tols) for r in int8_reference(model, cm.graph, inputs))
    best = [min(a, b, key=lambda o: o.max_abs_error) for a, b in zip(deployed, as_written)]
    plain = compare(cm.graph.outputs, ours, ort_default, abs_tol=tols)
    worst = lambda errs: max((o.max_abs_error for o in errs), default=0.0)  # noqa: E731
    return (best, cm.arena_bytes, cm.weight_bytes, cm.macs, max(tols),
            {"dtype": "int8", "tolerance": "1 LSB", "vs_ort_deployed": worst(deployed),
             "vs_ort_as_written": worst(as_written), "vs_ort_fused_max_abs_error": worst(plain)})


def verify_layers(path: str | Path, input_shapes: dict[str, tuple[int, ...]] | None = None, seed: int = 0,
                  options: CompileOptions = CompileOptions(), work_dir: str | Path | None = None) -> dict:
    """Every intermediate int8 tensor the ONNX file names, computed by the generated C on the
    host, against onnxruntime's (exposed as extra graph outputs), in LSBs; the first layer
    that diverges by more than 1 LSB. The model is compiled with those tensors as outputs,
    so they stay alive: the arena is larger than the deployed one."""
    from toolchain.api import compile_graph
    from toolchain.frontend import load_onnx
    from toolchain.int8check import compare_layers, first_divergence, ort_references, with_intermediate_outputs

    model = read_model(path)
    g = with_intermediate_outputs(load_onnx(path, input_shapes), model)
    cm = compile_graph(g, options)
    with tempfile.TemporaryDirectory(prefix="mcuforge-layers-") as tmp:
        src = write_sources(cm, Path(work_dir or tmp))
        exe = build_host(src, len(cm.graph.inputs))
        inputs = seeded_inputs(cm, seed)
        ours = run_host(exe, inputs, [cm.graph.tensors[o].size for o in cm.graph.outputs])
    ref = ort_references(model, cm.graph.outputs, dict(zip(cm.graph.inputs, inputs)))
    diffs = compare_layers(cm.graph, dict(zip(cm.graph.outputs, ours)), ref, dict(zip(cm.graph.inputs, inputs)))
    bad = first_divergence(diffs)
    return {"model": str(path), "match": bad is None, "layers": [d.__dict__ for d in diffs],
            "first_divergence": None if bad is None else bad.__dict__}
