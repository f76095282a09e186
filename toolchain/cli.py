"""The `mcuforge` command. Thin: parse, call the library, print. User mistakes end in one
line on stderr and exit status 2; internal failures (a build that breaks) exit 1."""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Any, Callable

import click

from toolchain.errors import McuforgeError


def friendly(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn McuforgeError (and a few OS errors) into one clear line and a non-zero exit."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except McuforgeError as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(2)
        except (OSError, RecursionError, MemoryError) as e:
            click.echo(f"error: {type(e).__name__}: {e}", err=True)
            sys.exit(1)

    return wrapper


def input_shape_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--input-shape", "input_shape", multiple=True, metavar="NAME=D0xD1x...",
                        help="Bind an input's shape (symbolic dims; repeat per input).")(fn)


def schedule_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn = click.option("--no-fuse", is_flag=True, help="Skip operator integration (fusion passes).")(fn)
    fn = click.option("--no-inplace", is_flag=True, help="Never let an op overwrite its input.")(fn)
    return fn


def _options(no_fuse: bool, no_inplace: bool):
    from toolchain.api import CompileOptions

    return CompileOptions(fuse=not no_fuse, inplace=not no_inplace)


def _kib(n: int) -> str:
    return f"{n:,} B ({n / 1024:.1f} KiB)"


def print_report(rep: dict) -> None:
    click.echo(f"model        {rep['model']}")
    click.echo(f"arena        {_kib(rep['arena_bytes'])}   (static activation buffer, exact)")
    click.echo(f"weights      {_kib(rep['weight_bytes'])}   (const, flash)")
    click.echo(f"MACs         {rep['macs']:,}")
    click.echo(f"no reuse     {_kib(rep['naive_bytes'])};  op-by-op lower bound {_kib(rep['op_by_op_bound_bytes'])}")
    if rep.get("peak_node"):
        click.echo(f"peak at      {rep['peak_node']}")
    click.echo("")
    w = max([len(n["name"]) for n in rep["nodes"]] + [4])
    w = min(w, 48)
    click.echo(f"{'#':>3}  {'node':<{w}}  {'op':<18} {'output':<16} {'MACs':>11} {'live bytes':>11}")
    for i, n in enumerate(rep["nodes"]):
        name = n["name"] if len(n["name"]) <= w else "…" + n["name"][-(w - 1):]
        shape = "x".join(str(d) for d in n["output_shape"])
        click.echo(f"{i:>3}  {name:<{w}}  {n['op']:<18} {shape:<16} {n['macs']:>11,} {n['live_bytes']:>11,}")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mcuforge")
def main() -> None:
    """mcuforge: ONNX to memory-scheduled C for microcontrollers."""


@main.command()
@click.argument("model", type=click.Path(dir_okay=False))
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False), default="out", show_default=True)
@input_shape_option
@schedule_options
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@friendly
def compile(model: str, out_dir: str, input_shape: tuple[str, ...], no_fuse: bool, no_inplace: bool,
            as_json: bool) -> None:
    """Lower MODEL to C in OUT (model.h, model.c, model_weights.c, runtime/) and print the memory report."""
    from toolchain.api import compile_model, write_sources
    from toolchain.frontend import parse_input_shapes

    cm = compile_model(model, parse_input_shapes(input_shape), _options(no_fuse, no_inplace))
    src = write_sources(cm, out_dir)
    rep = cm.report()
    rep["out_dir"] = str(src.out_dir)
    rep["files"] = [str(p) for p in src.c_files]
    if as_json:
        click.echo(json.dumps(rep))
    else:
        print_report(rep)
        click.echo(f"\nwrote {len(src.c_files)} C files to {src.out_dir}/")


@main.command()
@click.argument("model", type=click.Path(dir_okay=False))
@input_shape_option
@schedule_options
@click.option("--seed", default=0, show_default=True, help="Seed of the random inputs.")
@click.option("--sanitize", is_flag=True, help="Build with -fsanitize=address,undefined.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
@friendly
def verify(model: str, input_shape: tuple[str, ...], no_fuse: bool, no_inplace: bool, seed: int,
           sanitize: bool, as_json: bool) -> None:
    """Build MODEL's C with the host gcc, run it on seeded inputs and compare with onnxruntime."""
    from toolchain.frontend import parse_input_shapes
    from toolchain.verify import verify as run_verify

    r = run_verify(model, parse_input_shapes(input_shape), seed, _options(no_fuse, no_inplace), sanitize=sanitize)
    if as_json:
        click.echo(json.dumps(r.as_dict()))
    else:
        click.echo(f"model   {r.model}   (seed {seed}, host gcc -O2{' + ASan/UBSan' if sanitize else ''})")
        click.echo(f"arena   {_kib(r.arena_bytes)}   weights {_kib(r.weight_bytes)}   MACs {r.macs:,}")
        for o in r.outputs:
            click.echo(f"output  {o.name}: max abs error {o.max_abs_error:.3g}, max rel error "
                       f"{o.max_rel_error:.3g}  {'ok' if o.match else 'MISMATCH'}")
        click.echo(f"{'MATCH' if r.match else 'MISMATCH'} (tolerance: max abs error <= {r.tolerance:g} x max(1, max|ref|))")
    sys.exit(0 if r.match else 1)


if __name__ == "__main__":
    main()
