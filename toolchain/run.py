"""Compile a model for a board, build its firmware, run it in the simulator, compare.

The library side of `mcuforge build` and `mcuforge run --sim`: one function each, returning
plain records the CLI prints and `regress` / bench/ aggregate.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from toolchain.api import CompiledModel, CompileOptions, compile_graph, compile_model, write_sources
from toolchain.errors import UnsupportedOpError
from toolchain.quantize import int8_model
from toolchain.frontend import load_onnx
from toolchain.int8check import compare_layers, first_divergence, ort_references, with_intermediate_outputs
from toolchain.boards import Board, load_board
from toolchain.sim.errors import BudgetError
from toolchain.frontend import read_model
from toolchain.build import BuildResult, build_firmware
from toolchain.sim import SimError, run_firmware
from toolchain.sim.cluster import ClusterCounts, resolve_harts
from toolchain.codegen.target import kernel_target
from toolchain.verify import (ATOL, FP16_ATOL, OutputError, compare, compare_int8, onnxruntime_outputs, ort_inputs,
                              seeded_inputs)


@dataclass
class BoardBuild:
    compiled: CompiledModel
    build: BuildResult
    inputs: list[np.ndarray]

    @property
    def compiled_target(self):  # noqa: ANN201
        return self.compiled.target

    def as_dict(self) -> dict:
        b = self.build
        return {"board": b.board.name, "elf": str(b.elf), "arena_bytes": self.compiled.arena_bytes,
                "weight_bytes": self.compiled.weight_bytes, "kernel_weight_bytes": self.compiled.kernel_weight_bytes,
                "macs": self.compiled.macs,
                "flash_bytes": b.flash_bytes, "ram_bytes": b.ram_bytes,
                "flash_budget": b.board.memory.flash.size, "ram_budget": b.board.memory.ram.size,
                "stack_reserved_bytes": b.stack_reserved_bytes, "flash_by_section": b.flash_by_section,
                "ram_by_section": b.ram_by_section, "flash_split": b.flash_split, "harts": b.harts,
                "parallel_calls": self.compiled.report()["parallel_calls"]}


@dataclass
class BoardRun:
    model: str
    board: str
    outputs: list[OutputError]
    instructions: int | None
    weighted_instructions: int | None
    macs: int
    arena_bytes: int
    flash_bytes: int
    ram_bytes: int
    stack_bytes: int | None
    extra: dict = field(default_factory=dict)
    layers: list | None = None  # list[toolchain.profile.LayerCost] with --profile
    build: BoardBuild | None = field(default=None, repr=False)  # for reports; not in as_dict

    @property
    def match(self) -> bool:
        return all(o.match for o in self.outputs)

    @property
    def max_abs_error(self) -> float:
        return max((o.max_abs_error for o in self.outputs), default=0.0)

    @property
    def cost(self) -> int | None:
        """The instruction figure to compare: LMUL-weighted where the board has RVV."""
        return self.weighted_instructions if self.weighted_instructions is not None else self.instructions

    @property
    def macs_per_instruction(self) -> float | None:
        return self.macs / self.cost if self.cost else None

    def as_dict(self) -> dict:
        return {"model": self.model, "board": self.board, "match": self.match,
                "max_abs_error": self.max_abs_error, "tolerance_abs": ATOL,
                "instructions": self.instructions, "weighted_instructions": self.weighted_instructions,
                "macs": self.macs, "macs_per_instruction": self.macs_per_instruction,
                "arena_bytes": self.arena_bytes, "flash_bytes": self.flash_bytes, "ram_bytes": self.ram_bytes,
                "stack_bytes": self.stack_bytes, "outputs": [o.__dict__ for o in self.outputs],
                "flash_split": self.build.build.flash_split if self.build is not None else {}, **self.extra,
                **({"layers": [x.as_dict() for x in self.layers]} if self.layers is not None else {})}


def build_for_board(model: str | Path, board: str | Board, out_dir: str | Path,
                    input_shapes: dict[str, tuple[int, ...]] | None = None,
                    options: CompileOptions = CompileOptions(), seed: int = 0, dtype: str = "fp32",
                    kernels: str = "board", profile: bool = False, layers: bool = False, harts: int | None = None,
                    delay_seed: int | None = None) -> BoardBuild:
    """Compile, write the C and cross-compile the firmware (with seeded inputs baked in).

    kernels: "board" calls the fastest kernels the board's ISA fields allow (SIMD, register-
    blocked scalar), "ref" the portable reference kernels only.
    profile: build the per-node markers in (-DMF_PROFILE, see toolchain.profile).
    harts, delay_seed: cluster boards (toolchain.sim.cluster): harts the kernels fork over
    (default: all the board has), and a seed for injected per-hart start delays."""
    b = load_board(board) if isinstance(board, str) else board
    dtype, model = int8_model(model, dtype, out_dir, seed)
    harts = resolve_harts(b, harts)
    options = replace(options, target=kernel_target(b if kernels == "board" else None, dtype),  # type: ignore[arg-type]
                      harts=harts, ram_budget=arena_budget(b) if options.ram_budget is None else options.ram_budget)
    out = Path(out_dir)
    if layers:  # every intermediate int8 tensor the file names becomes an output (verify --layers)
        cm = compile_graph(with_intermediate_outputs(load_onnx(model, input_shapes), read_model(model)), options)
    else:
        cm = compile_model(model, input_shapes, options)
    _check_budget(cm, b)
    src = write_sources(cm, out / "model")
    inputs = seeded_inputs(cm, seed)
    build = build_firmware(src, b, out / "firmware", inputs, extra_cflags=["-DMF_PROFILE"] if profile else [],
                           harts=harts, delay_seed=delay_seed)
    return BoardBuild(cm, build, inputs)


def arena_budget(b: Board) -> int:
    """What --prefer and --patch-stage fit may fill on `b` by default: its RAM less the stack
    it reserves and 1 KiB for the harness's other data."""
    return b.memory.ram.size - b.memory.stack_size - 1024


def _check_budget(cm: CompiledModel, b: Board) -> None:
    """Budgets before the costly part, where the link could only fail: inputs larger than the
    board's RAM (they would be drawn and baked into C first: issue 11 saw 74.5 GiB) or weights
    larger than its flash (a C file of them compiled first). Smaller overruns are left to the
    link, whose BudgetError has the exact breakdown (code, stack, data)."""
    ram, flash = b.memory.ram.size, b.memory.flash.size
    inputs = sum(cm.graph.tensors[n].nbytes for n in cm.graph.inputs)
    if inputs <= ram and cm.weight_bytes <= flash:
        return
    what = (f"model needs at least {cm.arena_bytes} bytes of RAM for its arena but {b.name} has {ram}"
            if inputs > ram else
            f"model needs at least {cm.weight_bytes} bytes of flash for its weights but {b.name} has {flash}")
    raise BudgetError(what, {"RAM": cm.arena_bytes, "FLASH": cm.weight_bytes}, {"RAM": ram, "FLASH": flash},
                      {"RAM": {"arena": cm.arena_bytes}, "FLASH": {"constants and weights": cm.weight_bytes}})


def _top1(ours: list[np.ndarray], ref: list[np.ndarray]) -> bool | None:
    """Same arg-max on the first output (a classifier's logits or probabilities)."""
    if not ours or not ref or np.asarray(ref[0]).size < 2:
        return None
    return bool(np.argmax(ours[0]) == np.argmax(np.asarray(ref[0]).reshape(-1)))


def run_on_board(model: str | Path, board: str | Board, out_dir: str | Path | None = None,
                 input_shapes: dict[str, tuple[int, ...]] | None = None,
                 options: CompileOptions = CompileOptions(), seed: int = 0,
                 timeout: float = 600.0, dtype: str = "fp32", kernels: str = "board",
                 profile: bool = False, layers: bool = False, harts: int | None = None, delay_seed: int | None = None,
                 one_hart_work: int | None = None) -> BoardRun:
    """Build for the board, run in its simulator (or natively for `host`), compare with onnxruntime.
    FP16 builds are compared with a tolerance of FP16_ATOL x max(1, |ref|) (see verify).
    profile: also count instructions per node (BoardRun.layers); `instructions` is then the
    profiled build's count less the markers' own instructions.
    harts, delay_seed: see build_for_board. On a cluster board `instructions` is the work of
    all harts and extra holds harts, span_instructions, instructions_per_hart (LMUL-weighted
    on RVV) and, given one_hart_work (the work of the same build on 1 hart), the parallel
    efficiency one_hart_work / (harts x span)."""
    b = load_board(board) if isinstance(board, str) else board
    if profile and b.qemu is None:
        raise SimError(f"--profile counts instructions in QEMU; board {b.name} has no QEMU machine")
    with tempfile.TemporaryDirectory(prefix="mcuforge-run-") as tmp:
        dtype, model = int8_model(model, dtype, out_dir or tmp, seed)
        bb = build_for_board(model, b, out_dir or tmp, input_shapes, options, seed, dtype, kernels, profile=profile,
                             layers=layers, harts=harts, delay_seed=delay_seed)
        weighted = b.qemu is not None and b.core.simd == "rvv"
        kwargs: dict = {"lmul_weighting": True} if weighted else {}
        if profile:
            kwargs["profile"] = True
        result = run_firmware(bb.build, timeout, **kwargs)
        onnx_model = read_model(model)
    g = bb.compiled.graph
    bb = replace(bb, inputs=ort_inputs(onnx_model, bb.compiled, bb.inputs))  # --int-input: what ORT is fed
    ref = onnxruntime_outputs(onnx_model, g.inputs, bb.inputs)
    extra: dict = {}
    if layers:
        if dtype != "int8":
            raise UnsupportedOpError("--layers compares int8 tensors: the model is not quantised")
        ref_all = ort_references(onnx_model, g.outputs, dict(zip(g.inputs, bb.inputs)))
        diffs = compare_layers(g, dict(zip(g.outputs, result.outputs)), ref_all, dict(zip(g.inputs, bb.inputs)))
        bad = first_divergence(diffs)
        extra = {"layer_check": [d.__dict__ for d in diffs], "first_divergence": None if bad is None else bad.__dict__}
        errors = [OutputError(d.name, float(d.max_lsb), 0.0, d.ok) for d in diffs]
    elif dtype == "int8":
        errors, *_, extra = compare_int8(onnx_model, bb.compiled, result.outputs, bb.inputs, ref)
    else:
        errors = compare(g.outputs, result.outputs, ref, atol=FP16_ATOL if dtype == "fp16" else ATOL)
    if result.status != 0:
        errors = [OutputError(o.name, float("inf"), float("inf"), False) for o in errors]
    instructions, weighted_total, costs = result.instructions, result.weighted_instructions, None
    if profile and result.profile is not None and instructions is not None:
        from toolchain.profile import layer_costs

        costs = layer_costs(bb.compiled, result.profile, weighted_total is not None)
        instructions -= result.profile.marker_instructions
        if weighted_total is not None:
            weighted_total -= result.profile.marker_instructions
    extra = {"dtype": dtype, "kernels": list(bb.compiled_target.isas), "top1_agree": _top1(result.outputs, ref),
             **extra}
    if result.cluster is not None:
        extra.update(cluster_figures(result.cluster, weighted_total is not None, one_hart_work))
        # the output bits, to compare runs (harts, start delays) bit for bit
        extra["outputs_sha256"] = hashlib.sha256(b"".join(np.asarray(o, dtype=np.float32).tobytes()
                                                          for o in result.outputs)).hexdigest()
    return BoardRun(str(model), b.name, errors, instructions, weighted_total,
                    bb.compiled.macs, bb.compiled.arena_bytes, bb.build.flash_bytes, bb.build.ram_bytes,
                    result.stack_bytes, extra, costs, bb)


def cluster_figures(c: ClusterCounts, weighted: bool, one_hart_work: int | None) -> dict:
    """The run's cluster fields; parallel_efficiency needs the 1-hart work of the same build."""
    d = c.as_dict(weighted)
    span = d["span_instructions"]
    d["parallel_efficiency"] = (one_hart_work / (len(c.harts) * span)
                                if one_hart_work is not None and span else None)
    d["one_hart_instructions"] = one_hart_work
    return d


def run_cluster(model: str | Path, board: str | Board, harts: int | None = None, **kw: object) -> BoardRun:
    """run_on_board on `harts` harts and, for the efficiency and the bit-for-bit check, once
    more on 1 hart of the same board. extra gains matches_one_hart (outputs identical bits)."""
    b = load_board(board) if isinstance(board, str) else board
    harts = resolve_harts(b, harts)
    one = run_on_board(model, b, harts=1, **kw)  # type: ignore[arg-type]
    if harts == 1:
        one.extra.update(parallel_efficiency=1.0 if one.extra.get("span_instructions") else None,
                         one_hart_instructions=one.extra.get("work_instructions"), matches_one_hart=True)
        return one
    r = run_on_board(model, b, harts=harts, one_hart_work=one.extra.get("work_instructions"), **kw)  # type: ignore[arg-type]
    r.extra["matches_one_hart"] = r.extra.get("outputs_sha256") == one.extra.get("outputs_sha256")
    return r
