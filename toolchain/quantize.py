"""Float ONNX -> standard QDQ int8 ONNX with onnxruntime.quantization (calibration is theirs).

int8 activations (asymmetric, per tensor) and int8 symmetric weights (per tensor, or per
output channel with per_channel), written as QuantizeLinear/DequantizeLinear pairs that
onnxruntime runs and frontend/quant.py folds into integer ops. The calibration set is either
the user's (.npz, one array per model input, batch along axis 0) or seeded synthetic inputs
(int8check.smooth_field: smooth structured fields, like images/spectrograms, in [-2, 2]).
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import numpy as np
import onnx

from toolchain.errors import McuforgeError
from toolchain.frontend import read_model


class QuantizeError(McuforgeError, ValueError):
    pass


def _bound_model(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy whose symbolic leading (batch) dims are 1: calibration then runs one sample."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    inits = {i.name for i in m.graph.initializer}
    for vi in m.graph.input:
        if vi.name in inits:
            continue
        for k, d in enumerate(vi.type.tensor_type.shape.dim):
            if not d.HasField("dim_value") or d.dim_value <= 0:
                if k != 0:
                    raise QuantizeError(f"input {vi.name!r} has a symbolic dim at axis {k}; only the batch may be")
                d.Clear()
                d.dim_value = 1
    return m


def _input_specs(model: onnx.ModelProto) -> list[tuple[str, tuple[int, ...]]]:
    inits = {i.name for i in model.graph.initializer}
    out = []
    for vi in model.graph.input:
        if vi.name in inits:
            continue
        if vi.type.tensor_type.elem_type != onnx.TensorProto.FLOAT:
            raise QuantizeError(f"input {vi.name!r} is not float32: the model is not a float model")
        out.append((vi.name, tuple(d.dim_value for d in vi.type.tensor_type.shape.dim)))
    return out


def calibration_samples(model: onnx.ModelProto, calib: str | Path | None, calib_random: int | None,
                        seed: int) -> list[dict[str, np.ndarray]]:
    from toolchain.int8check import smooth_field

    specs = _input_specs(model)
    if calib is not None:
        try:
            data = np.load(calib)
        except (OSError, ValueError) as e:
            raise QuantizeError(f"--calib {calib}: not a readable .npz ({e})") from None
        missing = [n for n, _ in specs if n not in data.files]
        if missing and len(specs) == 1 and len(data.files) == 1:
            arrays = {specs[0][0]: data[data.files[0]]}
        elif missing:
            raise QuantizeError(f"--calib {calib}: no array for input(s) {missing} (has {data.files})")
        else:
            arrays = {n: data[n] for n, _ in specs}
        count = min(len(a) for a in arrays.values())
        samples = []
        for k in range(count):
            s = {}
            for name, shape in specs:
                a = np.asarray(arrays[name][k], np.float32)
                if a.size != int(np.prod(shape)):
                    raise QuantizeError(f"--calib {calib}: sample {k} of {name!r} has {a.size} values, "
                                        f"the input takes {shape}")
                s[name] = a.reshape(shape)
            samples.append(s)
        if not samples:
            raise QuantizeError(f"--calib {calib}: no samples")
        return samples
    n = calib_random or 8
    rng = np.random.default_rng(seed)
    return [{name: (4.0 * smooth_field(shape, rng) - 2.0).astype(np.float32) for name, shape in specs}
            for _ in range(n)]


def quantize_file(model_path: str | Path, out_path: str | Path, calib: str | Path | None = None,
                  calib_random: int | None = None, per_channel: bool = False, seed: int = 0) -> Path:
    """Write a QDQ int8 model of the float model; returns out_path."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    model = _bound_model(read_model(model_path))
    samples = calibration_samples(model, calib, calib_random, seed)

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.it = iter(samples)

        def get_next(self):  # noqa: ANN201 - onnxruntime's interface
            return next(self.it, None)

    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mcuforge-quant-") as tmp:
        src = Path(tmp) / "float.onnx"
        onnx.save(model, src)
        quiet = logging.getLogger().level
        logging.getLogger().setLevel(logging.ERROR)  # its "consider pre-processing" advice
        try:
            quantize_static(str(src), str(out), Reader(), quant_format=QuantFormat.QDQ,
                            activation_type=QuantType.QInt8, weight_type=QuantType.QInt8,
                            per_channel=per_channel,
                            extra_options={"WeightSymmetric": True, "ActivationSymmetric": False})
        except Exception as e:  # onnxruntime raises plain exceptions for unsupported graphs
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise QuantizeError(f"{model_path}: onnxruntime.quantization failed: {first[:200]}") from None
        finally:
            logging.getLogger().setLevel(quiet)
    return out


def int8_model(model: str | Path, dtype: str, work_dir: str | Path, seed: int) -> tuple[str, str | Path]:
    """(dtype, model) to build: a quantised model is int8 whatever --dtype says; a float
    model with --dtype int8 is quantised first (seeded calibration, mcuforge quantize)."""
    from toolchain.frontend.quant import is_quantized

    quantized = is_quantized(read_model(model))
    if quantized:
        return "int8", model
    if dtype == "int8":
        out = Path(work_dir) / (Path(model).stem + ".int8.onnx")
        out.parent.mkdir(parents=True, exist_ok=True)
        quantize_file(model, out, calib_random=8, seed=seed)
        return "int8", out
    return dtype, model
