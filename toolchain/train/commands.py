"""`mcuforge train`: thin click command over toolchain.train.api.train (the lead registers it)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from toolchain.clierrors import friendly
from toolchain.errors import McuforgeError


@click.command("train")
@click.argument("model", type=click.Path(dir_okay=False))
@click.option("--board", default="host", show_default=True, help="Board record name, or 'host'.")
@click.option("--trainable", default="last:1", show_default=True,
              help="last:N | all | biases | comma-separated layer or weight names.")
@click.option("--loss", type=click.Choice(["cross_entropy", "mse"]), default="cross_entropy", show_default=True)
@click.option("--optimizer", type=click.Choice(["sgd", "adam"]), default="sgd", show_default=True)
@click.option("--lr", type=float, default=0.01, show_default=True)
@click.option("--momentum", type=float, default=0.0, show_default=True, help="SGD momentum.")
@click.option("--dtype", type=click.Choice(["fp32", "fp16"]), default="fp32", show_default=True)
@click.option("--data", type=click.Path(dir_okay=False, exists=True), default=None,
              help="npz with x (samples, *input shape) and y (labels or targets); default: seeded synthetic.")
@click.option("--steps", type=click.IntRange(1, 10**6), default=20, show_default=True)
@click.option("--sim", is_flag=True, help="Run in QEMU (implied by a board other than host).")
@click.option("--ram-budget", type=click.IntRange(1, None), default=None, help="Refuse a step needing more RAM (bytes).")
@click.option("--no-reference", is_flag=True, help="Skip the PyTorch reference run.")
@click.option("--export", "export_path", type=click.Path(dir_okay=False), default=None,
              help="Write the tuned weights into a copy of the ONNX model.")
@click.option("--harts", type=int, default=None,
              help="Cluster boards: harts the kernels fork over (default: all); also runs 1 hart for the efficiency.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@friendly
def train(model: str, board: str, trainable: str, loss: str, optimizer: str, lr: float, momentum: float,
          dtype: str, data: str | None, steps: int, sim: bool, ram_budget: int | None, no_reference: bool,
          export_path: str | None, harts: int | None, as_json: bool) -> None:
    """Compile a training step for MODEL, run it over the data and compare with PyTorch."""
    from toolchain.progress import spinner
    from toolchain.boards import load_board
    from toolchain.sim.cluster import resolve_harts
    from toolchain.train.api import train as run_train
    from toolchain.train.api import train_cluster

    cluster = board != "host" and load_board(board).cluster is not None
    if board != "host":
        resolve_harts(load_board(board), harts)  # a bad --harts is one error line before any build
    elif harts not in (None, 1):
        raise McuforgeError(f"--harts {harts}: the host runs one hart")
    with spinner(f"training {Path(model).name} ({steps} steps{', in QEMU' if sim else ''})"):  # terminal only
        if cluster:
            r = train_cluster(model, board, harts, trainable=trainable, loss=loss, optimizer=optimizer, lr=lr,
                              momentum=momentum, steps=steps, data=data, dtype=dtype, ram_budget=ram_budget,
                              reference=not no_reference, export=export_path)
        else:
            r = run_train(model, trainable, loss, optimizer, lr, momentum, steps, data, board, dtype, ram_budget,
                          reference=not no_reference, export=export_path)
    if as_json:
        d = r.as_dict()
        d.update(d.pop("cluster") or {})  # harts, span_instructions, ... at the top level, as run --json
        click.echo(json.dumps(d, indent=2))
        return
    click.echo(f"model        {r.model}  ({r.board}, {r.dtype})")
    click.echo(f"trainable    {len(r.trainable)} tensors, {r.report['trainable_bytes']:,} B")
    click.echo(f"peak RAM     {r.peak_ram_bytes:,} B  (arena: weights in training, optimizer state, "
               "activations, gradients)")
    if r.instructions_per_step is not None:
        click.echo(f"instr/step   {r.instructions_per_step:,.0f}")
    if r.cluster is not None:
        c = r.cluster
        eff = f"{c['parallel_efficiency']:.3f}" if c.get("parallel_efficiency") is not None else "-"
        click.echo(f"harts        {c['harts']}: span {c['span_instructions']:,.0f} per step; 1 hart "
                   f"{c['one_hart_instructions'] or 0:,.0f}; efficiency {eff}; loss "
                   f"{'equals' if c.get('loss_equals_one_hart') else 'DIFFERS from'} the 1-hart run")
    ref = r.reference_loss or [None] * len(r.loss)
    click.echo("step  loss          pytorch")
    for i, (a, b) in enumerate(zip(r.loss, ref)):
        click.echo(f"{i:4d}  {a:.7f}  " + (f"{b:.7f}" if b is not None else "-"))
    if r.match is not None:
        click.echo(f"match        {'yes' if r.match else 'NO'}  (max |diff| {r.max_loss_error:.2e}, "
                   f"tolerance {r.tolerance:g}" + (" x max(1, |loss|)" if r.dtype == "fp16" else "") + ")")
    if r.export:
        click.echo(f"exported     {r.export}")
    if r.match is False:
        raise SystemExit(1)
