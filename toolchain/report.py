"""`mcuforge report`: one self-contained HTML page about a model on a board.

Model summary, board fit (RAM and flash against the board's budget, from the linked firmware),
the arena timeline (matplotlib SVG, inline), the per-node table (with the per-layer profile of
a QEMU run when `sim`), and the schedule options used. No script, no external file, no
network: an inline stylesheet and an inline SVG, so it opens anywhere and can be mailed.

Python prepares every value as display text or a percentage (templates/report.html.j2 does no
arithmetic); jinja2 escapes everything except the SVG, which matplotlib wrote.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import jinja2
from markupsafe import Markup

from toolchain import __version__
from toolchain.api import CompiledModel, CompileOptions, compile_model
from toolchain.boards import Board, load_board
from toolchain.codegen.target import kernel_target
from toolchain.errors import McuforgeError
from toolchain.profile import kernel_names
from toolchain.resources import TEMPLATES_DIR, git_commit
from toolchain.run import BoardBuild, BoardRun, build_for_board, run_on_board
from toolchain.sim.errors import BudgetError


@dataclass(frozen=True)
class Bar:
    """One budget bar: segments (label, bytes text, percent of the budget as CSS width)."""

    title: str
    used: str
    budget: str
    percent: str
    over: bool
    segments: list[tuple[str, str, str, str]]  # label, bytes, width %, css class


TEXT_COLUMNS = ("node", "op", "output", "kernel")


def _b(n: int | None) -> str:
    return "-" if n is None else f"{n:,}"


def _kib(n: int) -> str:
    return f"{n:,} B ({n / 1024:.1f} KiB)"


def _pct(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.2f}" if whole else "0"


def _bar(title: str, parts: dict[str, int], budget: int) -> Bar:
    used = sum(parts.values())
    segs = [(k, _b(v), _pct(min(v, budget), budget), f"seg{i % 4}") for i, (k, v) in enumerate(parts.items()) if v]
    return Bar(title, _kib(used), _kib(budget), f"{100.0 * used / budget:.1f}" if budget else "-", used > budget, segs)


def _fit(bb: BoardBuild) -> list[Bar]:
    b = bb.build
    arena = b.arena_bytes or bb.compiled.arena_bytes
    stack = b.stack_reserved_bytes
    ram = {"arena": arena, "stack (reserved)": stack, "other static data": max(b.ram_bytes - arena - stack, 0)}
    # code, weights (and their kernel-layout copies), scales, other constants, .data initial values:
    # from the ELF (sim/flashsplit.py)
    flash = dict(b.flash_split) or {"weights": min(bb.compiled.weight_bytes, b.flash_bytes),
                                    "code and other constants": max(b.flash_bytes - bb.compiled.weight_bytes, 0)}
    return [_bar("RAM", ram, b.board.memory.ram.size), _bar("Flash", flash, b.board.memory.flash.size)]


def _fit_over(err: BudgetError, board: Board) -> list[Bar]:
    """The bars of a firmware that does not fit, from the sizes the budget check measured."""
    return [_bar("RAM", err.breakdown["RAM"], board.memory.ram.size),
            _bar("Flash", err.breakdown["FLASH"], board.memory.flash.size)]


def _svg(cm: CompiledModel) -> str:
    from toolchain.memory.plot import plot_memory

    with tempfile.TemporaryDirectory(prefix="mcuforge-report-") as tmp:
        path = plot_memory(cm.graph, cm.memory, Path(tmp) / "timeline.svg")
        text = path.read_text()
    # drop the XML prolog and DOCTYPE (inline SVG in HTML starts at <svg) and matplotlib's RDF
    # metadata block, whose creation date would make two reports of one model differ
    text = text[text.index("<svg"):]
    return re.sub(r"\s*<metadata>.*?</metadata>", "", text, count=1, flags=re.S)


def _rows(cm: CompiledModel, run: BoardRun | None) -> tuple[list[str], list[list[str]]]:
    head = ["#", "node", "op", "output", "MACs", "live bytes", "kernel"]
    layers = run.layers if run is not None and run.layers is not None else None
    weighted = bool(layers) and layers[0].weighted_instructions is not None
    if layers is not None:
        head += ["instructions"] + (["LMUL-weighted"] if weighted else []) + ["instr/MAC", "share"]
    total = sum(x.cost for x in layers) if layers else 0
    rows = []
    for i, n in enumerate(cm.nodes):
        row = [str(i), n.name, n.op, "x".join(map(str, n.output_shape)), _b(n.macs), _b(n.live_bytes),
               kernel_names(cm, i)]
        if layers is not None:
            x = layers[i]
            row += [_b(x.instructions)] + ([_b(x.weighted_instructions)] if weighted else [])
            row += [f"{x.instructions_per_mac:.2f}" if x.instructions_per_mac is not None else "-",
                    f"{100.0 * x.cost / total:.1f}%" if total else "-"]
        rows.append(row)
    return head, rows


def render_report(cm: CompiledModel, board: Board, bars: list[Bar], run: BoardRun | None, options: CompileOptions,
                  dtype: str, kernels: str, note: str = "") -> str:
    """note: a problem to show at the top (the firmware does not fit, so nothing ran)."""
    rep = cm.report()
    summary = [("model", str(rep["model"])), ("board", f"{board.name}: {board.description}"),
               ("dtype / kernels", f"{dtype} / {kernels} ({', '.join(cm.target.isas)})"),
               ("inputs", "; ".join(f"{t['name']} {'x'.join(map(str, t['shape']))}" for t in rep["inputs"])),
               ("outputs", "; ".join(f"{t['name']} {'x'.join(map(str, t['shape']))}" for t in rep["outputs"])),
               ("nodes (after fusion)", str(len(cm.nodes))), ("MACs", _b(cm.macs)),
               ("weights", _kib(cm.weight_bytes)), ("arena", _kib(cm.arena_bytes)),
               ("no reuse / op-by-op bound", f"{_kib(rep['naive_bytes'])} / {_kib(rep['op_by_op_bound_bytes'])}"),
               ("peak at", str(rep["peak_node"] or "-"))]
    sim = []
    if run is not None:
        sim = [("result", "MATCH" if run.match else "MISMATCH"),
               ("max abs error vs onnxruntime", f"{run.max_abs_error:.3g}"),
               ("instructions per inference", _b(run.instructions)),
               *([("LMUL-weighted", _b(run.weighted_instructions))] if run.weighted_instructions is not None else []),
               ("MACs per instruction", f"{run.macs_per_instruction:.3f}" if run.macs_per_instruction else "-"),
               ("stack used", f"{_b(run.stack_bytes)} B")]
    sched = [(k, str(v)) for k, v in asdict(replace(options, target=cm.target)).items()]
    sched += [(f"arena with order '{k}'", _kib(v)) for k, v in cm.order_arenas.items()]
    sched.append(("planner strategy kept", str(cm.memory.plan.strategy)))
    head, rows = _rows(cm, run)
    commit = git_commit()
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)), undefined=jinja2.StrictUndefined,
                             autoescape=True, trim_blocks=True, lstrip_blocks=True)
    return env.get_template("report.html.j2").render(
        title=f"{Path(str(rep['model'])).name} on {board.name}", summary=summary, sim=sim, note=note,
        bars=bars, svg=Markup(_svg(cm)), head=head, rows=rows, schedule=sched,
        aligns=["" if h in TEXT_COLUMNS else "num" for h in head],
        profiled=run is not None, version=f"mcuforge {__version__}" + (f" (git {commit})" if commit else ""))


def write_report(model: str | Path, board: str, out: str | Path, input_shapes: dict | None = None,
                 options: CompileOptions = CompileOptions(), dtype: str = "fp32", kernels: str = "board",
                 sim: bool = False, seed: int = 0) -> Path:
    """Builds MODEL for BOARD (and with sim runs it profiled in QEMU), writes the HTML to OUT."""
    b = load_board(board)
    if sim and b.qemu is None:
        raise McuforgeError(f"--sim needs a board with a QEMU machine; {b.name} has none")
    run, note = None, ""
    with tempfile.TemporaryDirectory(prefix="mcuforge-report-") as tmp:
        try:
            if sim:
                run = run_on_board(model, b, tmp, input_shapes, options, seed, dtype=dtype, kernels=kernels,
                                   profile=True)
                assert run.build is not None
                bb = run.build
            else:
                bb = build_for_board(model, b, tmp, input_shapes, options, seed, dtype, kernels)
            cm, bars = bb.compiled, _fit(bb)
        except BudgetError as e:  # the report is where a user sees by how much
            target = kernel_target(b if kernels == "board" else None, dtype)  # type: ignore[arg-type]
            cm = compile_model(model, input_shapes, replace(options, target=target))
            bars, note = _fit_over(e, b), f"does not fit {b.name}{', not run' if sim else ''}: " + "; ".join(
                str(e).splitlines())
        html = render_report(cm, b, bars, run, options, dtype, kernels, note)
    p = Path(out)
    p.write_text(html)
    return p
