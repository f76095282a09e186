"""On-device validation: send seeded random (or dataset) inputs to a device running the
protocol firmware, compare its outputs with onnxruntime, report like ST's on-target
validation (per-output errors, top-1 agreement, cost per inference).

A sample counts as matching under the same rule as ``mcuforge verify`` (toolchain.verify):
max |device - onnxruntime| <= ATOL * max(1, max |onnxruntime|). The report never says MATCH
unless every output of every sample arrived intact (CRC-checked) and matched.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from toolchain.api import compile_model
from toolchain.device import protocol as P
from toolchain.device.client import DeviceClient, LinkStats
from toolchain.device.errors import ValidationError
from toolchain.device.firmware import model_hash
from toolchain.errors import McuforgeError
from toolchain.frontend import read_model
from toolchain.verify import ATOL, onnxruntime_outputs

COUNTER_NOTES = {
    P.Counter.CYCLES: "core clock cycles (DWT CYCCNT)",
    P.Counter.INSTRET: "instructions retired (minstret; exact on QEMU under -icount shift=0)",
    P.Counter.NONE: "not measured: the device has no usable counter (QEMU models no Cortex-M "
                    "DWT); `mcuforge run --sim` counts instructions",
}


@dataclass
class OutputStats:
    name: str
    shape: list[int]
    max_abs_error: float
    max_rel_error: float      # max |diff| / max |reference|, as toolchain.verify
    rmse: float
    mae: float
    cosine: float             # cosine similarity of the flattened outputs, all samples
    top1_agreement: float | None   # argmax over the last axis agrees; None for one value
    matched_samples: int
    samples: int

    @property
    def match(self) -> bool:
        return self.matched_samples == self.samples


@dataclass
class ValidationReport:
    model: str
    port: str
    build_id: str
    model_hash: str
    dtype: str
    arena_bytes: int
    inputs: str               # where the inputs came from
    samples: int
    outputs: list[OutputStats]
    counter: str              # "cycles", "instructions" or "none"
    counter_note: str
    counts: list[int]         # per inference
    stack_bytes: int | None
    tolerance: float = ATOL
    link: dict[str, int] = field(default_factory=dict)

    @property
    def match(self) -> bool:
        return all(o.match for o in self.outputs) and self.samples > 0

    def as_dict(self) -> dict[str, object]:
        d = asdict(self)
        d["match"] = self.match
        for o, od in zip(self.outputs, d["outputs"]):
            od["match"] = o.match
        per = self.per_inference
        d["per_inference"] = per
        return d

    @property
    def per_inference(self) -> int | None:
        if self.counter == "none" or not self.counts:
            return None
        return int(round(float(np.mean(self.counts))))


def load_dataset(path: str | Path, names: list[str],
                 shapes: list[tuple[int, ...]]) -> list[list[np.ndarray]]:
    """Samples from an .npz: one array per model input, keyed by input name (or arr_0,
    arr_1... in input order), with a leading sample axis or exactly one sample."""
    try:
        data = np.load(path)
    except (OSError, ValueError) as exc:
        raise ValidationError(f"cannot read dataset {path}: {exc}") from exc
    arrays = []
    for i, (name, shape) in enumerate(zip(names, shapes)):
        key = name if name in data.files else f"arr_{i}"
        if key not in data.files:
            raise ValidationError(f"dataset {path} has no array '{name}' (or '{key}'); it has "
                                  f"{', '.join(data.files)}")
        a = np.asarray(data[key], dtype=np.float32)
        size = int(np.prod(shape))
        if a.size == size:
            a = a.reshape(1, *shape)
        elif a.size % size == 0 and a.shape[1:] and int(np.prod(a.shape[1:])) == size:
            a = a.reshape(a.shape[0], *shape)
        else:
            raise ValidationError(f"dataset array '{key}' has shape {list(a.shape)}; input "
                                  f"'{name}' needs {list(shape)} per sample")
        arrays.append(a)
    count = min(a.shape[0] for a in arrays)
    return [[a[k] for a in arrays] for k in range(count)]


def seeded_samples(shapes: list[tuple[int, ...]], count: int,
                   seed: int) -> list[list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [[rng.standard_normal(s).astype(np.float32) for s in shapes] for _ in range(count)]


def validate(model: str | Path, client: DeviceClient, *, count: int = 10, seed: int = 0,
             data: str | Path | None = None,
             input_shapes: dict[str, tuple[int, ...]] | None = None,
             check_hash: bool = True, board: str | None = None) -> ValidationReport:
    """Runs ``count`` samples on the device behind ``client`` and compares with onnxruntime.
    board: the board the user says is there; refused if the device's build is for another."""
    cm = compile_model(model, input_shapes)
    g = cm.graph
    in_shapes = [tuple(g.tensors[n].shape) for n in g.inputs]
    out_shapes = [tuple(g.tensors[n].shape) for n in g.outputs]
    info = client.info()
    # build ids are "<board>-<target>-<hash>" (device.firmware): the board is their first part
    if board is not None and not info.build_id.startswith(f"{board}-"):
        raise ValidationError(f"the device at {client.link.url} runs build {info.build_id}, which is not "
                              f"for --board {board}")
    _check_device(info, model, in_shapes, out_shapes, check_hash, client.link.url)

    if data is not None:
        samples = load_dataset(data, list(g.inputs), in_shapes)[:count]
        source = f"{len(samples)} from {data}"
    else:
        samples = seeded_samples(in_shapes, count, seed)
        source = f"{count} seeded random (seed {seed})"
    proto = read_model(model)
    got: list[list[np.ndarray]] = []
    ref: list[list[np.ndarray]] = []
    counts, stack = [], None
    for k, xs in enumerate(samples):
        try:
            inf = client.infer([np.ascontiguousarray(x, dtype=np.float32).tobytes() for x in xs])
        except (McuforgeError, OSError) as e:  # the device or simulator died: say how far it got
            raise ValidationError(f"{e} ({k} of {len(samples)} inferences had completed)") from None
        got.append([np.frombuffer(o, dtype=np.float32).reshape(s)
                    for o, s in zip(inf.outputs, out_shapes)])
        ref.append([np.asarray(r, dtype=np.float32).reshape(s) for r, s in
                    zip(onnxruntime_outputs(proto, list(g.inputs), list(xs)), out_shapes)])
        counts.append(inf.run.count)
        stack = inf.run.stack_bytes
    stats = [_output_stats(name, list(shape), [s[i] for s in got], [r[i] for r in ref])
             for i, (name, shape) in enumerate(zip(g.outputs, out_shapes))]
    return ValidationReport(
        model=str(model), port=client.link.url, build_id=info.build_id,
        model_hash=info.model_hash_hex, dtype=info.dtype, arena_bytes=info.arena_bytes,
        inputs=source, samples=len(samples), outputs=stats,
        counter=P.COUNTER_WORDS[info.counter], counter_note=COUNTER_NOTES[info.counter],
        counts=counts, stack_bytes=stack, link=_link_dict(client.stats))


def _check_device(info: P.DeviceInfo, model: str | Path, in_shapes: list[tuple[int, ...]],
                  out_shapes: list[tuple[int, ...]], check_hash: bool, url: str) -> None:
    want = model_hash(model)
    if check_hash and info.model_hash != want:
        raise ValidationError(f"the device at {url} runs model {info.model_hash_hex} (build "
                              f"{info.build_id}), not {Path(model).name} ({want.hex()}): flash "
                              "it first (mcuforge flash MODEL.onnx --board B --probe P)")
    elem = P.DTYPE_BYTES.get(info.dtype, 4)
    need_in = [int(np.prod(s)) * elem for s in in_shapes]
    need_out = [int(np.prod(s)) * elem for s in out_shapes]
    if list(info.input_bytes) != need_in or list(info.output_bytes) != need_out:
        raise ValidationError(f"the device at {url} has inputs {list(info.input_bytes)} and "
                              f"outputs {list(info.output_bytes)} bytes; {Path(model).name} "
                              f"needs {need_in} and {need_out}")
    if info.dtype != "float32":
        raise ValidationError(f"the device at {url} runs a {info.dtype} model; validation "
                              "compares float32 models only")


def _output_stats(name: str, shape: list[int], got: list[np.ndarray],
                  ref: list[np.ndarray]) -> OutputStats:
    y = np.stack(got).astype(np.float64)
    r = np.stack(ref).astype(np.float64)
    diff = np.abs(y - r)
    matched = 0
    for yk, rk in zip(y, r):
        scale = float(np.max(np.abs(rk))) if rk.size else 0.0
        err = float(np.max(np.abs(yk - rk))) if rk.size else 0.0
        # NaN anywhere fails the comparison (nan <= x is False)
        matched += bool(err <= ATOL * max(1.0, scale))
    scale = float(np.max(np.abs(r))) if r.size else 0.0
    max_abs = float(np.max(diff)) if diff.size else 0.0
    denom = float(np.linalg.norm(y) * np.linalg.norm(r))
    cosine = float(np.sum(y * r) / denom) if denom > 0 else float(np.array_equal(y, r))
    top1 = None
    if shape and shape[-1] > 1:
        agree = np.argmax(y, axis=-1) == np.argmax(r, axis=-1)
        top1 = float(np.mean(agree))
    return OutputStats(name=name, shape=shape, max_abs_error=max_abs,
                       max_rel_error=max_abs / scale if scale > 0 else max_abs,
                       rmse=float(np.sqrt(np.mean(diff ** 2))) if diff.size else 0.0,
                       mae=float(np.mean(diff)) if diff.size else 0.0, cosine=cosine,
                       top1_agreement=top1, matched_samples=matched, samples=len(got))


def _link_dict(stats: LinkStats) -> dict[str, int]:
    return dict(asdict(stats))


def format_report(rep: ValidationReport) -> str:
    """The human report: ST-style table, then cost and link lines, then the verdict."""
    lines = [
        f"On-device validation of {Path(rep.model).name} at {rep.port}",
        f"  device   build {rep.build_id}, model {rep.model_hash}, {rep.dtype}, "
        f"arena {rep.arena_bytes:,} B",
        f"  inputs   {rep.inputs}",
        "",
        f"  {'output':<20} {'shape':<14} {'max abs':>9} {'max rel':>9} {'rmse':>9} "
        f"{'mae':>9} {'cos':>9} {'top-1':>8}  samples ok",
    ]
    for o in rep.outputs:
        shape = "x".join(str(d) for d in o.shape)
        top1 = f"{100 * o.top1_agreement:7.1f}%" if o.top1_agreement is not None else "     n/a"
        lines.append(f"  {o.name[:20]:<20} {shape:<14} {o.max_abs_error:9.2e} "
                     f"{o.max_rel_error:9.2e} {o.rmse:9.2e} {o.mae:9.2e} {o.cosine:9.6f} "
                     f"{top1}  {o.matched_samples}/{o.samples}")
    lines.append("")
    per = rep.per_inference
    if per is None:
        lines.append(f"  cost     {rep.counter_note}")
    else:
        spread = f" (min {min(rep.counts):,}, max {max(rep.counts):,})" \
            if min(rep.counts) != max(rep.counts) else ""
        lines.append(f"  cost     {per:,} {rep.counter} per inference{spread}: "
                     f"{rep.counter_note}")
    if rep.stack_bytes is not None:
        lines.append(f"  stack    {rep.stack_bytes:,} B used (painted high-water mark)")
    link = rep.link
    lines.append(f"  link     {link.get('requests', 0)} requests, {link.get('resends', 0)} "
                 f"resends, {link.get('bad_frames', 0)} corrupt frames, "
                 f"{link.get('restarts', 0)} restarted inferences")
    verdict = "MATCH" if rep.match else "MISMATCH"
    lines.append(f"{verdict} ({rep.samples} samples; tolerance: max abs error <= "
                 f"{rep.tolerance:g} x max(1, max|ref|))")
    return "\n".join(lines)
