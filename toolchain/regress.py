"""Run a folder of models on a set of boards, check outputs, compare cost with a baseline.

A result regresses when it no longer matches onnxruntime, or when its instructions, arena or
flash grow by more than `threshold` (a fraction) over the stored baseline. On simulated boards
the run is profiled per node, the baseline keeps each layer's count, and a regression names
the layers that grew (by more than `threshold` of their own count and more than
LAYER_FLOOR of the whole inference, so a 2-instruction view node cannot cry wolf). Models that do not
fit a board are reported as such (skipped), not as failures: that is a property of the pair.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable
from xml.etree import ElementTree as ET

from toolchain.api import CompileOptions
from toolchain.boards import list_boards, load_board
from toolchain.errors import DoesNotFitError, McuforgeError
from toolchain.run import run_on_board

METRICS = ("instructions", "arena_bytes", "flash_bytes", "span_instructions")  # span: cluster boards
LAYER_FLOOR = 0.001  # a layer's growth must be at least this fraction of the old total


@dataclass
class Outcome:
    model: str
    board: str
    status: str  # "pass" | "fail" | "regressed" | "skipped" | "error"
    message: str = ""
    figures: dict = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def key(self) -> str:
        return f"{Path(self.model).name}@{self.board}"


def find_models(paths: Iterable[str | Path]) -> list[Path]:
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(p.glob("*.onnx")))
        elif p.suffix == ".onnx" and p.is_file():
            out.append(p)
        else:
            raise McuforgeError(f"{p}: not an .onnx file or a folder of them")
    if not out:
        raise McuforgeError("no .onnx models found in " + ", ".join(map(str, paths)))
    return out


def resolve_boards(spec: str) -> list[str]:
    """'all' = every simulated board plus host; else a comma-separated list."""
    if spec == "all":
        return [b for b in list_boards() if load_board(b).qemu is not None or not load_board(b).bare_metal]
    names = [s.strip() for s in spec.split(",") if s.strip()]
    for n in names:
        load_board(n)  # a clear error for a wrong name, before anything runs
    return names


def layer_figures(layers: list) -> dict[str, int]:
    """node name -> its instruction cost (LMUL-weighted on RVV), in execution order."""
    out: dict[str, int] = {}
    for x in layers:
        key, k = x.node, 1
        while key in out:  # two nodes of one name: keep both, numbered
            k += 1
            key = f"{x.node}#{k}"
        out[key] = x.cost
    return out


def compare_layers(new: dict[str, int], old: dict[str, int], threshold: float, total: int) -> list[str]:
    """The layers whose count grew, worst first, as 'layer NAME a -> b (+x%)'."""
    grown = []
    for name, n in new.items():
        o = old.get(name)
        if o is not None and n > o * (1 + threshold) and n - o > LAYER_FLOOR * total:
            grown.append((n - o, f"layer {name} {o:,} -> {n:,} (+{(n - o) / o:.1%})" if o else
                          f"layer {name} 0 -> {n:,}"))
    return [text for _, text in sorted(grown, key=lambda t: -t[0])]


def compare_baseline(figures: dict, base: dict | None, threshold: float) -> list[str]:
    if not base:
        return []
    worse = []
    for m in METRICS:
        old, new = base.get(m), figures.get(m)
        if old and new is not None and new > old * (1 + threshold):
            worse.append(f"{m} {old:,} -> {new:,} (+{(new - old) / old:.1%})")
    if figures.get("layers") and base.get("layers"):
        worse += compare_layers(figures["layers"], base["layers"], threshold, base.get("instructions") or 0)
    return worse


def run_one(model: Path, board: str, baseline: dict, threshold: float, options: CompileOptions,
            dtype: str = "fp32", kernels: str = "board", harts: int | None = None) -> Outcome:
    """harts: on a cluster board, the harts to fork over (default all); other boards run one.
    A cluster board is not profiled per node (the profile counts one hart); its span is kept."""
    t0 = time.monotonic()
    try:
        b = load_board(board)
        profile = b.qemu is not None and b.cluster is None
        r = run_on_board(model, board, options=options, dtype=dtype, kernels=kernels, profile=profile,
                         harts=harts if b.cluster is not None else None)
    except DoesNotFitError as e:
        return Outcome(str(model), board, "skipped", str(e), seconds=time.monotonic() - t0)
    except McuforgeError as e:
        return Outcome(str(model), board, "error", str(e).splitlines()[0], seconds=time.monotonic() - t0)
    figures = {"instructions": r.cost, "arena_bytes": r.arena_bytes, "flash_bytes": r.flash_bytes,
               "macs": r.macs, "max_abs_error": r.max_abs_error, "stack_bytes": r.stack_bytes}
    if r.layers is not None:
        figures["layers"] = layer_figures(r.layers)
    if "span_instructions" in r.extra:
        figures["span_instructions"] = r.extra["span_instructions"]
    out = Outcome(str(model), board, "pass", figures=figures, seconds=time.monotonic() - t0)
    if not r.match:
        out.status, out.message = "fail", f"output mismatch: max abs error {r.max_abs_error:.3g}"
        return out
    worse = compare_baseline(figures, baseline.get(out.key), threshold)
    if worse:
        out.status, out.message = "regressed", "; ".join(worse)
    return out


def regress(models: list[Path], boards: list[str], baseline: dict | None = None, threshold: float = 0.02,
            options: CompileOptions = CompileOptions(), dtype: str = "fp32", kernels: str = "board",
            progress: Callable[[Outcome], None] | None = None, harts: int | None = None) -> list[Outcome]:
    outcomes = []
    for model in models:
        for board in boards:
            o = run_one(model, board, baseline or {}, threshold, options, dtype, kernels, harts)
            outcomes.append(o)
            if progress:
                progress(o)
    return outcomes


def baseline_of(outcomes: list[Outcome]) -> dict:
    return {o.key: o.figures for o in outcomes if o.status in ("pass", "regressed")}


def load_baseline(path: Path | None) -> dict:
    if path is None or not path.exists():
        return {}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise McuforgeError(f"{path}: not a baseline JSON file ({e})") from None


def junit_xml(outcomes: list[Outcome]) -> str:
    suite = ET.Element("testsuite", name="mcuforge-regress", tests=str(len(outcomes)),
                       failures=str(sum(o.status in ("fail", "regressed") for o in outcomes)),
                       errors=str(sum(o.status == "error" for o in outcomes)),
                       skipped=str(sum(o.status == "skipped" for o in outcomes)),
                       time=f"{sum(o.seconds for o in outcomes):.3f}")
    for o in outcomes:
        case = ET.SubElement(suite, "testcase", classname=Path(o.model).stem, name=o.board, time=f"{o.seconds:.3f}")
        if o.status in ("fail", "regressed"):
            ET.SubElement(case, "failure", message=o.message, type=o.status)
        elif o.status == "error":
            ET.SubElement(case, "error", message=o.message)
        elif o.status == "skipped":
            ET.SubElement(case, "skipped", message=o.message)
        if o.figures:
            ET.SubElement(case, "system-out").text = json.dumps(o.figures)
    return ET.tostring(suite, encoding="unicode")
