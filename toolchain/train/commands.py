"""`mcuforge train`: thin click command over toolchain.train.api.train (the lead registers it)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from toolchain.clierrors import friendly


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
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@friendly
def train(model: str, board: str, trainable: str, loss: str, optimizer: str, lr: float, momentum: float,
          dtype: str, data: str | None, steps: int, sim: bool, ram_budget: int | None, no_reference: bool,
          export_path: str | None, as_json: bool) -> None:
    """Compile a training step for MODEL, run it over the data and compare with PyTorch."""
    from toolchain.progress import spinner
    from toolchain.train.api import train as run_train

    with spinner(f"training {Path(model).name} ({steps} steps{', in QEMU' if sim else ''})"):  # terminal only
        r = run_train(model, trainable, loss, optimizer, lr, momentum, steps, data, board, dtype, ram_budget,
                      reference=not no_reference, export=export_path)
    if as_json:
        click.echo(json.dumps(r.as_dict(), indent=2))
        return
    click.echo(f"model        {r.model}  ({r.board}, {r.dtype})")
    click.echo(f"trainable    {len(r.trainable)} tensors, {r.report['trainable_bytes']:,} B")
    click.echo(f"peak RAM     {r.peak_ram_bytes:,} B  (arena: weights in training, optimizer state, "
               "activations, gradients)")
    if r.instructions_per_step is not None:
        click.echo(f"instr/step   {r.instructions_per_step:,.0f}")
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
