"""The `mcuforge` command. Thin: parse, call the library, print. User mistakes end in one
line on stderr and exit status 2; internal failures (a build that breaks) end in one
"internal error" line naming a log file, exit 3 (toolchain/failure.py); a mismatch exits 1."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Callable

import click

from toolchain.clierrors import friendly
from toolchain.errors import McuforgeError


def force_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--force", is_flag=True,
                        help="Write into a non-empty OUT that mcuforge did not write (nothing in it is deleted).")(fn)


def input_shape_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--input-shape", "input_shape", multiple=True, metavar="NAME=D0xD1x...",
                        help="Bind an input's shape (symbolic dims; repeat per input).")(fn)


class SizeType(click.ParamType):
    """A byte count: 65536, 64K, 320K, 1M (K = 1024)."""

    name = "size"

    def convert(self, value: Any, param: Any, ctx: Any) -> int:
        if isinstance(value, int):
            return value
        t = str(value).strip().upper().removesuffix("B")
        scale = {"K": 1024, "M": 1024 * 1024}.get(t[-1:], 1)
        try:
            n = int(float(t[:-1] if scale > 1 else t) * scale)
        except ValueError:
            self.fail(f"cannot read {value!r} as a size (examples: 65536, 64K, 1M)", param, ctx)
        if n <= 0:
            self.fail(f"size {value!r} must be positive", param, ctx)
        return n


def schedule_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """--schedule picks a preset; --no-* switch single optimizations off so each gain can be measured."""
    fn = click.option("--schedule", type=click.Choice(["mcuformer", "naive"]), default="mcuformer", show_default=True,
                      help="mcuformer: operator integration, token overwriting, in-place ops; "
                           "naive: op by op (TFLM-like), BN and activations folded only.")(fn)
    fn = click.option("--no-fuse", is_flag=True, help="No fusion at all (not even BN/activation folding).")(fn)
    fn = click.option("--no-integrate", is_flag=True, help="No integrated patch-embedding/attention/token-chain/residual-conv ops.")(fn)
    fn = click.option("--no-overwrite", is_flag=True, help="No token overwriting, no depthwise/pointwise conv over its input; the model keeps its input intact.")(fn)
    fn = click.option("--no-inplace", is_flag=True, help="Never let an element-wise op overwrite its input.")(fn)
    fn = click.option("--prefer", type=click.Choice(["auto", "speed", "memory"]), default="auto", show_default=True,
                      help="Depthwise/pointwise convs in place (smaller arena) or out of place (faster kernels), and "
                           "a ViT's attention as one q|k|v Linear (one LayerNorm per block), q/k/v apart, in pairs "
                           "of heads or head by head (one head's q/k/v in RAM; slowest): "
                           "auto = memory first, the faster choice where it still fits the RAM budget; speed = the "
                           "faster wherever it fits; memory = the smallest arena.")(fn)
    fn = click.option("--ram-budget", type=SizeType(), default=None, metavar="SIZE",
                      help="Arena bytes --prefer may fill, e.g. 64K (build/run: default the board's RAM less its stack).")(fn)
    fn = click.option("--stream-input", is_flag=True,
                      help="Generate mf_model_run_rows: the image arrives row by row, only the first op's band is in RAM.")(fn)
    fn = click.option("--patch-stage", "patch_stage", default="fit", show_default=True, metavar="auto|off|fit|N[:R]",
                      callback=_patch_stage_value,
                      help="Run the first N convs band by band (R output rows each), halo rows recomputed (MCUNetV2): "
                           "auto picks the stage and band height of the smallest arena; fit does that only when the model does not "
                           "fit the board's RAM otherwise (compile/verify: no board, so off).")(fn)
    fn = click.option("--int-input", is_flag=True,
                      help="A quantised model's float image input is taken as its int8 values (no float input buffer).")(fn)
    return fn


def _patch_stage_value(ctx: click.Context, param: click.Parameter, value: str) -> str:
    from toolchain.passes.patch import PatchError, parse_patch_stage

    v = value.strip().lower()
    if v == "off":
        return v
    try:
        parse_patch_stage(v)
    except PatchError:
        raise click.BadParameter(f"{value!r}: expected auto, off, fit, N or N:R (layers, output rows per band)") from None
    return v


def _options(kw: dict[str, Any]):
    """CompileOptions from the schedule flags (popped from kw) plus --dtype and a board's ISA."""
    from dataclasses import replace

    from toolchain.api import CompileOptions

    o = CompileOptions.schedule(kw.pop("schedule", "mcuformer"))
    return replace(o, fuse=o.fuse and not kw.pop("no_fuse", False),
                   integrate=o.integrate and not kw.pop("no_integrate", False),
                   overwrite=o.overwrite and not kw.pop("no_overwrite", False),
                   inplace=o.inplace and not kw.pop("no_inplace", False),
                   stream_input=kw.pop("stream_input", False), int_input=kw.pop("int_input", False),
                   patch_stage=kw.pop("patch_stage", "fit"),
                   prefer=kw.pop("prefer", "auto"), ram_budget=kw.pop("ram_budget", None))


def _split(parts: dict[str, int]) -> str:
    """`code 12,345 B, weights ...`: a flash split (sim/flashsplit.py) on one line."""
    return ", ".join(f"{k} {v:,} B" for k, v in parts.items())


def _kib(n: int) -> str:
    return f"{n:,} B ({n / 1024:.1f} KiB)"


def print_report(rep: dict) -> None:
    from toolchain.codegen.ctext import safe_terminal as st  # names are the model's: no escapes reach the tty

    rep = {**rep, "model": st(rep["model"]), "peak_node": st(rep["peak_node"]) if rep.get("peak_node") else None,
           "peak_live": [{**b, "tensors": [st(t) for t in b["tensors"]]} for b in rep.get("peak_live", [])],
           "nodes": [{**n, "name": st(n["name"])} for n in rep["nodes"]]}
    click.echo(f"model        {rep['model']}")
    click.echo(f"arena        {_kib(rep['arena_bytes'])}   (static activation buffer, exact)")
    kernel = rep.get("kernel_weight_bytes", 0)
    click.echo(f"weights      {_kib(rep['weight_bytes'])}   (const, flash"
               + (f"; {kernel:,} B of them copies in a kernel's layout)" if kernel else ")"))
    click.echo(f"MACs         {rep['macs']:,}")
    click.echo(f"no reuse     {_kib(rep['naive_bytes'])};  op-by-op lower bound {_kib(rep['op_by_op_bound_bytes'])}")
    orders = rep.get("schedule_orders", {})
    if len(orders) > 1:
        click.echo("order        " + ";  ".join(f"{k} {v:,} B" for k, v in orders.items()) + f"  (planner {rep['planner']})")
    if rep.get("stream_input"):
        si = rep["stream_input"]
        click.echo(f"streamed     arena {si['arena_bytes']:,} B with mf_model_run_rows;  {si['whole_input_arena_bytes']:,} B "
                   f"with the whole input (band {si['band_bytes']:,} B of {si['rows']} rows x {si['row_bytes']:,} B)")
    if rep.get("patch_stage"):
        ps = rep["patch_stage"]
        click.echo(f"patch stage  {len(ps['layers'])} layers {ps['layers'][0]} .. {ps['layers'][-1]} -> "
                   f"{'x'.join(map(str, ps['output_shape']))}, {ps['grid']}{' (streamed rows)' if ps['streamed_input'] else ''}; "
                   f"arena {ps['arena_bytes']:,} B ({ps['arena_without_bytes']:,} B without)")
        click.echo(f"             recompute {ps['recompute_macs']:,} MACs = {ps['recompute_pct']:.1f}% of the stage's "
                   f"{ps['macs']:,} (halo rows computed once per band)")
    cands = rep.get("schedule_arenas", {})
    if len(cands) > 1:
        click.echo("schedule     kept " + rep["schedule"] + " of " + ";  ".join(f"{k} {v:,} B" for k, v in cands.items()))
    forms = rep.get("attention_arenas", {})
    if len(forms) > 1 and rep.get("attention_form") and rep.get("schedule") == "mcuformer":
        click.echo(f"attention    {rep['attention_form']} of " + ";  ".join(f"{k} {v:,} B" for k, v in forms.items())
                   + "  (fastest first: q|k|v merged, apart, pairs of heads, head by head)")
    if rep.get("placement"):
        budget = f", RAM budget {rep['ram_budget']:,} B" if rep.get("ram_budget") else ""
        click.echo(f"convs        --prefer {rep['prefer']}{budget}:")
        for c in rep["placement"]:
            name = st(c["node"])
            name = name if len(name) <= 48 else "…" + name[-47:]
            click.echo(f"             {name} ({c['kind']}): {c['why']}")
    if rep.get("peak_node"):
        click.echo(f"peak at      {rep['peak_node']}; live there:")
        for b in rep.get("peak_live", []):
            names = ", ".join(t if len(t) <= 60 else "…" + t[-59:] for t in b["tensors"])
            click.echo(f"             @{b['offset']:>8,}  {b['bytes']:>9,} B  {names}")
    click.echo("")
    w = max([len(n["name"]) for n in rep["nodes"]] + [4])
    w = min(w, 48)
    click.echo(f"{'#':>3}  {'node':<{w}}  {'op':<18} {'output':<16} {'MACs':>11} {'live bytes':>11}")
    for i, n in enumerate(rep["nodes"]):
        name = n["name"] if len(n["name"]) <= w else "…" + n["name"][-(w - 1):]
        shape = "x".join(str(d) for d in n["output_shape"])
        click.echo(f"{i:>3}  {name:<{w}}  {n['op']:<18} {shape:<16} {n['macs']:>11,} {n['live_bytes']:>11,}")


def print_layers(layers: list, total: int | None) -> None:
    """The per-node profile table of `run --profile` (LayerCost rows of toolchain.profile)."""
    weighted = any(x.weighted_instructions is not None for x in layers)
    w = min(max([len(x.node) for x in layers] + [4]), 40)
    click.echo("")
    head = f"{'#':>3}  {'node':<{w}}  {'op':<18} {'kernel':<28} {'instructions':>13}"
    head += f" {'LMUL-weighted':>13}" if weighted else ""
    click.echo(head + f" {'MACs':>11} {'instr/MAC':>9} {'share':>6} {'live bytes':>10}")
    for x in layers:
        name = x.node if len(x.node) <= w else "…" + x.node[-(w - 1):]
        kern = x.kernel if len(x.kernel) <= 28 else x.kernel[:27] + "…"
        row = f"{x.index:>3}  {name:<{w}}  {x.op:<18} {kern:<28} {x.instructions:>13,}"
        row += f" {x.weighted_instructions:>13,}" if weighted else ""
        ipm = f"{x.instructions_per_mac:.2f}" if x.instructions_per_mac is not None else "-"
        share = f"{x.cost / total:.1%}" if total else "-"
        click.echo(row + f" {x.macs:>11,} {ipm:>9} {share:>6} {x.live_bytes:>10,}")
    covered = sum(x.cost for x in layers)
    if total:
        click.echo(f"layers sum to {covered:,} of {total:,} instructions ({covered / total:.2%}); the rest is "
                   "the call of mf_model_run and one call per node")


class LazyGroup(click.Group):
    """Commands that live beside their subsystem (toolchain/<area>/commands.py) are imported
    when used, so `mcuforge --help` stays fast and those modules may import this one."""

    LAZY = {"train": "toolchain.train.commands:train",
            "nas": "toolchain.nas.commands:nas",
            "flash": "toolchain.device.commands:flash",
            "monitor": "toolchain.device.commands:monitor",
            "validate": "toolchain.device.commands:validate",
            "sim-device": "toolchain.device.commands:sim_device"}

    def main(self, *args: Any, **kwargs: Any) -> Any:
        """Click's usage errors as one `error:` line and exit 2, like every other user mistake
        (click would print the usage block and a capitalised "Error:" line)."""
        if kwargs.get("standalone_mode", True) is False:
            return super().main(*args, **kwargs)
        from toolchain.codegen.ctext import safe_terminal

        kwargs["standalone_mode"] = False
        try:
            rv = super().main(*args, **kwargs)
        except click.ClickException as e:
            click.echo(f"error: {safe_terminal(' '.join(e.format_message().split()))}", err=True)
            sys.exit(e.exit_code if e.exit_code != 1 else 2)
        except click.Abort:
            click.echo("error: interrupted", err=True)
            sys.exit(130)
        sys.exit(rv if isinstance(rv, int) else 0)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.LAZY))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.LAZY and name not in self.commands:
            import importlib

            module, attr = self.LAZY[name].split(":")
            self.add_command(getattr(importlib.import_module(module), attr), name)
        return super().get_command(ctx, name)


def _version_text() -> str:
    from toolchain import __version__
    from toolchain.resources import git_commit

    commit = git_commit()
    return f"mcuforge {__version__}" + (f" (git {commit})" if commit else "")


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--version", is_flag=True, is_eager=True, expose_value=False,
              callback=lambda ctx, _p, v: (click.echo(_version_text()), ctx.exit()) if v and not ctx.resilient_parsing
              else None, help="Show the version (and the git commit it was built from) and exit.")
def main() -> None:
    """mcuforge: ONNX to memory-scheduled C for microcontrollers."""
    from toolchain.failure import install_signal_handlers

    install_signal_handlers()


@main.command()
@click.argument("model", type=click.Path(dir_okay=False))
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False), default="out", show_default=True)
@input_shape_option
@schedule_options
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), default=None,
              help="Draw the arena over the schedule to this PNG (needs matplotlib).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@click.option("--dtype", type=click.Choice(["fp32", "fp16", "int8"]), default="fp32", show_default=True,
              help="int8: a quantised model always is; a float model is quantised first (seeded calibration).")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(0, 2**32 - 1),
              help="Seed of the calibration set (--dtype int8).")
@force_option
@friendly
def compile(model: str, out_dir: str, input_shape: tuple[str, ...], plot_path: str | None, as_json: bool,
            dtype: str, seed: int, force: bool, **sched: Any) -> None:
    """Lower MODEL to C in OUT (model.h, model.c, model_weights.c, runtime/) and print the memory report."""
    from dataclasses import replace

    from toolchain.api import compile_model, write_sources
    from toolchain.codegen.target import kernel_target
    from toolchain.frontend import parse_input_shapes
    from toolchain.outdir import claim
    from toolchain.quantize import int8_model

    shapes = parse_input_shapes(input_shape)
    if plot_path and not Path(plot_path).resolve().parent.is_dir():
        raise click.UsageError(f"--plot {plot_path}: the folder {Path(plot_path).parent} does not exist")
    claim(out_dir, force)
    dtype, model = int8_model(model, dtype, Path(out_dir), seed)
    opts = replace(_options(sched), target=kernel_target(None, dtype))  # type: ignore[arg-type]
    cm = compile_model(model, shapes, opts)
    src = write_sources(cm, out_dir)
    rep = cm.report()
    if opts.stream_input:  # the figure streaming is for: the same model with the whole input
        from toolchain.api import stream_summary

        rep["stream_input"] = stream_summary(cm, compile_model(model, shapes, replace(opts, stream_input=False)))
    rep["out_dir"] = str(src.out_dir)
    rep["files"] = [str(p) for p in src.c_files]
    if plot_path:
        from toolchain.memory.plot import plot_memory

        rep["plot"] = str(plot_memory(cm.graph, cm.memory, plot_path))
    if as_json:
        click.echo(json.dumps(rep))
    else:
        print_report(rep)
        click.echo(f"\nwrote {len(src.c_files)} C files to {src.out_dir}/")


@main.command()
@click.argument("model", type=click.Path(dir_okay=False))
@input_shape_option
@schedule_options
@click.option("--seed", default=0, show_default=True, type=click.IntRange(0, 2**32 - 1),
              help="Seed of the random inputs.")
@click.option("--sanitize", is_flag=True, help="Build with -fsanitize=address,undefined.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
@click.option("--dtype", type=click.Choice(["fp32", "int8"]), default="fp32", show_default=True,
              help="int8: a quantised model always is; a float model is quantised first (seeded calibration).")
@click.option("--layers", is_flag=True, help="int8: compare every intermediate tensor with onnxruntime and "
                                              "name the first layer that diverges by more than 1 LSB.")
@friendly
def verify(model: str, input_shape: tuple[str, ...], seed: int, sanitize: bool, as_json: bool, dtype: str,
           layers: bool, **sched: Any) -> None:
    """Build MODEL's C with the host gcc, run it on seeded inputs and compare with onnxruntime."""
    import tempfile

    from toolchain.frontend import parse_input_shapes
    from toolchain.quantize import int8_model
    from toolchain.verify import verify as run_verify, verify_layers

    if layers:
        with tempfile.TemporaryDirectory(prefix="mcuforge-q-") as tmp:
            _, qmodel = int8_model(model, dtype, tmp, seed)
            rep = verify_layers(qmodel, parse_input_shapes(input_shape), seed, _options(sched))
        print_layer_check(rep, as_json)
        sys.exit(0 if rep["match"] else 1)
    r = run_verify(model, parse_input_shapes(input_shape), seed, _options(sched), sanitize=sanitize, dtype=dtype)
    if as_json:
        click.echo(json.dumps(r.as_dict()))
    else:
        click.echo(f"model   {r.model}   (seed {seed}, host gcc -O2{' + ASan/UBSan' if sanitize else ''})")
        click.echo(f"arena   {_kib(r.arena_bytes)}   weights {_kib(r.weight_bytes)}   MACs {r.macs:,}")
        for o in r.outputs:
            click.echo(f"output  {o.name}: max abs error {o.max_abs_error:.3g}, max rel error "
                       f"{o.max_rel_error:.3g}  {'ok' if o.match else 'MISMATCH'}")
        if r.extra.get("dtype") == "int8":
            click.echo(f"{'MATCH' if r.match else 'MISMATCH'} (tolerance: 1 LSB of each output; onnxruntime "
                       f"with its own int8 fusions differs by {r.extra['vs_ort_fused_max_abs_error']:g})")
        else:
            click.echo(f"{'MATCH' if r.match else 'MISMATCH'} (tolerance: max abs error <= {r.tolerance:g} x max(1, max|ref|))")
    sys.exit(0 if r.match else 1)


def _board_option(required: bool = True):
    return click.option("--board", required=required, metavar="NAME", help="A board record (see `mcuforge boards`).")


def kernel_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn = click.option("--dtype", type=click.Choice(["fp32", "fp16", "int8"]), default="fp32", show_default=True,
                      help="Weights and activations; model inputs/outputs stay float32 at the boundary. int8: a "
                           "quantised model always is; a float model is quantised first (seeded calibration).")(fn)
    fn = click.option("--kernels", type=click.Choice(["board", "ref"]), default="board", show_default=True,
                      help="board: SIMD / register-blocked kernels the board's ISA allows; ref: reference only.")(fn)
    return fn


@main.command()
@click.option("--json", "as_json", is_flag=True)
@friendly
def boards(as_json: bool) -> None:
    """List the boards: core, ISA, RAM, flash, simulator and flash method."""
    from toolchain.boards import list_boards, load_board

    rows = []
    for name in list_boards():
        b = load_board(name)
        isa = [b.core.arch, "fpu" if b.core.has_fpu else "", "fp16" if b.core.fp16_arith else "",
               b.core.simd if b.core.simd != "none" else ""]
        sim = f"QEMU {b.qemu.machine}" if b.qemu else ("native" if not b.bare_metal else "-")
        if b.renode:
            sim += " / Renode"
        flash = "openocd/pyocd/gdb" if b.bare_metal else "-"
        rows.append({"board": name, "core": b.core.name, "isa": "+".join(x for x in isa if x),
                     "ram_bytes": b.memory.ram.size, "flash_bytes": b.memory.flash.size, "simulator": sim,
                     "flash_method": flash})
    if as_json:
        click.echo(json.dumps(rows))
        return
    click.echo(f"{'board':<26}{'core':<12}{'ISA':<26}{'RAM':>9}{'flash':>10}  {'simulator':<24}flash")
    for r in rows:
        click.echo(f"{r['board']:<26}{r['core']:<12}{r['isa']:<26}{r['ram_bytes'] // 1024:>7}K"
                   f"{r['flash_bytes'] // 1024:>9}K  {r['simulator']:<24}{r['flash_method']}")


@main.command()
@click.argument("model", type=click.Path(dir_okay=False))
@_board_option()
@click.option("-o", "--out", "out_path", type=click.Path(dir_okay=False), default="report.html", show_default=True)
@click.option("--sim", is_flag=True, help="Also run it profiled in QEMU: per-layer instructions in the table.")
@input_shape_option
@schedule_options
@kernel_options
@click.option("--seed", default=0, show_default=True)
@friendly
def report(model: str, board: str, out_path: str, sim: bool, input_shape: tuple[str, ...], dtype: str, kernels: str,
           seed: int, **sched: Any) -> None:
    """Write one self-contained HTML report of MODEL on BOARD: summary, board fit, arena timeline, per-node table."""
    from toolchain.frontend import parse_input_shapes
    from toolchain.progress import spinner
    from toolchain.report import write_report

    with spinner(f"building{' and running' if sim else ''} {Path(model).name} for {board}"):
        p = write_report(model, board, out_path, parse_input_shapes(input_shape), _options(sched), dtype, kernels,
                         sim=sim, seed=seed)
    click.echo(f"wrote {p}")


@main.command()
@click.option("--board", "board_names", multiple=True, metavar="NAME",
              help="Only these boards' columns (repeat); default: every board.")
@click.option("--json", "as_json", is_flag=True)
@friendly
def ops(board_names: tuple[str, ...], as_json: bool) -> None:
    """List the ONNX ops mcuforge compiles, their dtypes, and the kernel variant each board calls."""
    from toolchain.boards import list_boards, load_board
    from toolchain.opsinfo import ops_table

    names = list(board_names) or list_boards()
    for n in names:
        load_board(n)  # one clear line for a wrong name
    rows = ops_table(names)
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in rows]))
        return
    cw = max(len(n) for n in names) + 2
    click.echo(f"{'ONNX op':<20}{'dtypes':<11}{'kernel families':<46}" + "".join(f"{n:<{cw}}" for n in names))
    for r in rows:
        if r.kind != "kernel":
            what = {"view": "view: same bytes, no code", "folded": "folded at compile time (constants)",
                    "fused": "fused into its producer by a pass"}[r.kind]
            click.echo(f"{r.op:<20}{'':<11}{what}")
            continue
        fams = ", ".join(r.families)
        cells = ["/".join(r.boards[n].get(dt, "-") for dt in r.dtypes) for n in names]
        click.echo(f"{r.op:<20}{'/'.join(r.dtypes):<11}{fams:<46}" + "".join(f"{c:<{cw}}" for c in cells))
    click.echo("\nboard cells: the ISA variant called per dtype (ref: portable C; dsp: register-blocked scalar; "
               "rvv / mve: vector). `--json` lists every variant present.")


@main.command()
@click.argument("model", type=click.Path(dir_okay=False))
@_board_option()
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False), default="out", show_default=True)
@input_shape_option
@schedule_options
@kernel_options
@click.option("--harts", type=int, default=None, help="Cluster boards: harts the kernels fork over (default: all).")
@click.option("--json", "as_json", is_flag=True)
@force_option
@friendly
def build(model: str, board: str, out_dir: str, input_shape: tuple[str, ...], harts: int | None, as_json: bool,
          dtype: str, kernels: str, force: bool, **sched: Any) -> None:
    """Compile MODEL and cross-compile it with the board harness into OUT/firmware/firmware.elf."""
    from toolchain.frontend import parse_input_shapes
    from toolchain.outdir import claim
    from toolchain.run import build_for_board

    shapes = parse_input_shapes(input_shape)
    claim(out_dir, force, replaced=("model", "firmware"))
    bb = build_for_board(model, board, out_dir, shapes, _options(sched), dtype=dtype,
                         kernels=kernels, harts=harts)
    d = bb.as_dict()
    if as_json:
        click.echo(json.dumps(d))
        return
    click.echo(f"board    {d['board']}")
    click.echo(f"elf      {d['elf']}")
    click.echo(f"flash    {_kib(d['flash_bytes'])} of {_kib(d['flash_budget'])}")
    click.echo("         " + _split(d["flash_split"]))
    click.echo(f"RAM      {_kib(d['ram_bytes'])} of {_kib(d['ram_budget'])} "
               f"(arena {d['arena_bytes']:,}, stack reserved {d['stack_reserved_bytes']:,}; "
               f"`mcuforge run --sim` measures the stack used)")
    if d["harts"] > 1:
        click.echo(f"harts    {d['harts']}: {len(d['parallel_calls'])} calls fork over them; private scratch in the arena:")
        for c in d["parallel_calls"]:
            if c["copies"]:
                click.echo(f"         {c['kernel']:<36} {c['copies']} x {c['scratch_per_hart']:,} B  ({c['node'][-40:]})")


def print_layer_check(rep: dict, as_json: bool) -> None:
    """verify/run --layers: every int8 tensor against onnxruntime (toolchain.int8check)."""
    if as_json:
        click.echo(json.dumps(rep))
        return
    click.echo("chain LSB  differ  layer LSB  kernel LSB  node   (chain: ours vs onnxruntime after every layer "
               "before; layer: this op on onnxruntime's inputs; kernel: the C vs its numpy reference)")
    dash = lambda v: "-" if v is None else str(v)  # noqa: E731
    for d in rep["layers"]:
        node = d["node"] if len(d["node"]) <= 60 else "…" + d["node"][-59:]
        click.echo(f"{d['max_lsb']:>9}  {d['count']:>6}  {dash(d.get('op_lsb')):>9}  {dash(d.get('kernel_lsb')):>10}  {node}")
    bad = rep["first_divergence"]
    click.echo("MATCH (every layer within 1 LSB of onnxruntime, every kernel exact)" if bad is None else
               f"MISMATCH: first divergence at {bad['node']} (layer {bad.get('op_lsb')} LSB, "
               f"kernel {bad.get('kernel_lsb')} LSB, chain {bad['max_lsb']} LSB)")


@main.command()
@click.argument("model", type=click.Path(dir_okay=False))
@click.option("-o", "--out", "out_path", type=click.Path(dir_okay=False), required=True,
              help="Where to write the QDQ int8 model.")
@click.option("--calib", type=click.Path(dir_okay=False, exists=True), default=None,
              help=".npz calibration set: one array per model input, samples along axis 0.")
@click.option("--calib-random", type=int, default=None, metavar="N",
              help="N seeded synthetic samples (smooth structured fields) instead of --calib (default 8).")
@click.option("--per-channel", is_flag=True, help="Per output channel weight scales.")
@click.option("--seed", default=0, show_default=True)
@friendly
def quantize(model: str, out_path: str, calib: str | None, calib_random: int | None, per_channel: bool,
             seed: int) -> None:
    """Quantise a float MODEL to standard QDQ int8 ONNX with onnxruntime.quantization (int8
    activations, symmetric int8 weights)."""
    from toolchain.quantize import QuantizeError, quantize_file

    if calib and calib_random:
        raise QuantizeError("give --calib or --calib-random, not both")
    if calib_random is not None and calib_random < 1:
        raise QuantizeError("--calib-random needs a positive number of samples")
    out = quantize_file(model, out_path, calib, calib_random, per_channel, seed)
    click.echo(f"wrote {out} (QDQ int8, {'per-channel' if per_channel else 'per-tensor'} weights, "
               f"{'calibration ' + calib if calib else f'{calib_random or 8} seeded synthetic samples'})")


@main.command()
@click.argument("model", type=click.Path(dir_okay=False))
@_board_option()
@click.option("--sim/--no-sim", default=True, help="Run in the board's simulator (QEMU).")
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False), default=None)
@input_shape_option
@schedule_options
@kernel_options
@click.option("--seed", default=0, show_default=True, type=click.IntRange(0, 2**32 - 1))
@click.option("--profile", is_flag=True, help="Also count instructions per node (after fusion).")
@click.option("--trace-out", type=click.Path(dir_okay=False), default=None,
              help="With --profile: write a Chrome/Perfetto trace (instructions as time) here.")
@click.option("--harts", type=int, default=None,
              help="Cluster boards: harts the kernels fork over (default: all); also runs 1 hart for the efficiency.")
@click.option("--json", "as_json", is_flag=True)
@click.option("--layers", is_flag=True, help="int8: compare every intermediate tensor with onnxruntime and "
                                              "name the first layer that diverges by more than 1 LSB.")
@force_option
@friendly
def run(model: str, board: str, sim: bool, out_dir: str | None, input_shape: tuple[str, ...], seed: int,
        profile: bool, trace_out: str | None, harts: int | None, as_json: bool, dtype: str, kernels: str,
        force: bool, layers: bool,
        **sched: Any) -> None:
    """Build MODEL for BOARD, run it in QEMU on a seeded input and compare with onnxruntime."""
    from toolchain.frontend import parse_input_shapes
    from toolchain.outdir import claim
    from toolchain.progress import spinner
    from toolchain.run import run_on_board

    if not sim:
        raise click.UsageError("only --sim is implemented here; use `mcuforge validate --port` for a real board")
    if trace_out and not profile:
        raise McuforgeError("--trace-out needs --profile (the trace is the per-layer profile)")
    from toolchain.boards import load_board
    from toolchain.run import run_cluster
    from toolchain.sim.cluster import resolve_harts

    shapes = parse_input_shapes(input_shape)
    b = load_board(board)
    resolve_harts(b, harts)  # a bad --harts is one error line before anything is built
    if out_dir is not None:
        claim(out_dir, force, replaced=("model", "firmware"))
    with spinner(f"building and running {Path(model).name} on {board}"):
        if b.cluster is not None:
            r = run_cluster(model, b, harts, out_dir=out_dir, input_shapes=shapes, options=_options(sched), seed=seed,
                            dtype=dtype, kernels=kernels, profile=profile, layers=layers)
        else:
            r = run_on_board(model, board, out_dir, shapes, _options(sched), seed, dtype=dtype,
                             kernels=kernels, profile=profile, layers=layers)
    if layers:
        print_layer_check({"layers": r.extra["layer_check"], "first_divergence": r.extra["first_divergence"],
                           "match": r.match, "board": r.board}, as_json)
        sys.exit(0 if r.match else 1)
    if trace_out and r.layers is not None:
        from toolchain.profile import write_trace

        write_trace(trace_out, r.layers, r.model, r.board)
    if as_json:
        click.echo(json.dumps(r.as_dict()))
    else:
        click.echo(f"model         {r.model} on {r.board} ({r.extra['dtype']}, kernels {'/'.join(r.extra['kernels'])})")
        click.echo(f"arena         {_kib(r.arena_bytes)};  flash {_kib(r.flash_bytes)};  RAM {_kib(r.ram_bytes)};"
                   f"  stack used {r.stack_bytes if r.stack_bytes is not None else '-'} B")
        if r.build is not None:
            click.echo(f"flash split   {_split(r.build.build.flash_split)}")
        for o in r.outputs:
            click.echo(f"output        {o.name}: max abs error {o.max_abs_error:.3g}  {'ok' if o.match else 'MISMATCH'}")
        if r.instructions is not None:
            weighted = f" ({r.weighted_instructions:,} LMUL-weighted)" if r.weighted_instructions is not None else ""
            click.echo(f"instructions  {r.instructions:,} per inference{weighted};  MACs {r.macs:,};  "
                       f"{r.macs_per_instruction:.3f} MACs per instruction")
        if "span_instructions" in r.extra:
            x = r.extra
            eff = f"{x['parallel_efficiency']:.3f}" if x.get("parallel_efficiency") is not None else "-"
            click.echo(f"harts         {x['harts']}: span {x['span_instructions']:,} instructions over "
                       f"{x['regions']} fork/join regions (serial part {x['serial_instructions']:,}); "
                       f"1 hart {x['one_hart_instructions'] or 0:,}; efficiency {eff}; "
                       f"{'same bits as 1 hart' if x.get('matches_one_hart') else 'DIFFERENT bits from 1 hart'}")
            click.echo("per hart      " + ", ".join(f"{v:,}" for v in x["instructions_per_hart"]))
        if r.layers is not None and "span_instructions" in r.extra:
            click.echo("layers        per node: its span (each fork/join region's busiest hart, plus the serial part)")
            print_layers(r.layers, r.extra["span_instructions"])
        elif r.layers is not None:
            print_layers(r.layers, r.cost)
        if trace_out:
            click.echo(f"trace         {trace_out}")
        click.echo("MATCH" if r.match else "MISMATCH")
    sys.exit(0 if r.match else 1)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--boards", "boards_spec", default="all", show_default=True, help="'all' or a comma-separated list.")
@click.option("--baseline", type=click.Path(dir_okay=False), default=None, help="Baseline JSON to compare with.")
@click.option("--update-baseline", is_flag=True, help="Write this run's figures as the new baseline.")
@click.option("--threshold", default=0.02, show_default=True, help="Allowed growth (fraction) before a regression.")
@click.option("--junit", type=click.Path(dir_okay=False), default=None, help="Write JUnit XML here.")
# simulated boards are profiled per node: the baseline keeps each layer's instructions and a
# regression names the layers that grew
@schedule_options
@kernel_options
@click.option("--harts", type=int, default=None, help="Cluster boards: harts the kernels fork over (default: all).")
@click.option("--json", "as_json", is_flag=True)
@friendly
def regress(paths: tuple[str, ...], boards_spec: str, baseline: str | None, update_baseline: bool,
            threshold: float, junit: str | None, harts: int | None, as_json: bool, dtype: str, kernels: str,
            **sched: Any) -> None:
    """Run every model in PATHS on a set of boards in QEMU; check outputs and cost against a baseline."""
    from toolchain import regress as rg

    models = rg.find_models(paths)
    boards_list = rg.resolve_boards(boards_spec)
    if harts is not None:  # a bad --harts is one error line before anything runs
        from toolchain.boards import load_board
        from toolchain.sim.cluster import resolve_harts

        clusters = [load_board(b) for b in boards_list if load_board(b).cluster is not None]
        if not clusters:
            raise McuforgeError(f"--harts {harts}: none of the boards is a cluster")
        for b in clusters:
            resolve_harts(b, harts)
    base_path = Path(baseline) if baseline else None
    base = rg.load_baseline(base_path)
    total = len(models) * len(boards_list)
    from toolchain.progress import Bar

    with Bar(total, "regress") as bar:  # on a terminal only
        outcomes = rg.regress(models, boards_list, base, threshold, _options(sched), dtype, kernels,
                              progress=lambda o: bar.update(1, o.key), harts=harts)
    if junit:
        Path(junit).write_text(rg.junit_xml(outcomes))
    if base_path and (update_baseline or not base_path.exists()):
        base_path.write_text(json.dumps(rg.baseline_of(outcomes), indent=1, sort_keys=True))
    if as_json:
        click.echo(json.dumps([o.__dict__ for o in outcomes]))
    else:
        for o in outcomes:
            ins = o.figures.get("instructions")
            fig = f"{ins:>13,} instr  arena {o.figures['arena_bytes']:>8,}  flash {o.figures['flash_bytes']:>9,}" if o.figures and ins else ""
            click.echo(f"{o.status.upper():<10}{o.key:<52}{fig}  {o.message}")
    bad = [o for o in outcomes if o.status in ("fail", "regressed", "error")]
    click.echo(f"{len(outcomes) - len(bad)} passed, {len(bad)} failed", err=True)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
