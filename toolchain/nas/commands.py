"""`mcuforge nas`: parse, call ``run_nas``, print. Registered by toolchain/cli.py.

torch is imported only when the command runs, so the rest of the CLI works without the
`[nas]` extra.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from toolchain.errors import McuforgeError


class TrainDefaults:  # mirrors toolchain.nas.train / evolution defaults without importing torch
    epochs = 40


class FinetuneDefaults:
    epochs = 30


class RerankDefaults:
    top_k, seeds = 3, 2


class EvoDefaults:
    population, parents, mutations, crossovers, generations = 20, 6, 10, 10, 8


def _kib(n: int) -> str:
    return f"{n:,} B ({n / 1024:.1f} KiB)"


@click.command("nas")
@click.option("--family", type=click.Choice(["vit", "cnn"]), default="vit", show_default=True,
              help="Low-rank ViT (MCUFormer) or MCUNet-like CNN.")
@click.option("--board", default="stm32f746-disco", show_default=True, help="Board record under boards/.")
@click.option("--dataset", default="digits", show_default=True,
              help="'digits' (scikit-learn, bundled), a .npz with arrays x, y (or x_train, y_train, x_test, "
                   "y_test, optionally x_val, y_val), or a folder with one sub-folder of images per class.")
@click.option("--ram-budget", metavar="SIZE", help="Peak activation RAM, e.g. 64K (default: board RAM less stack).")
@click.option("--flash-budget", metavar="SIZE", help="Weights + code allowance, e.g. 512K (default: board flash).")
@click.option("--epochs", type=int, default=TrainDefaults.epochs, show_default=True,
              help="Supernet training epochs (progressive shrinking phases share them).")
@click.option("--finetune-epochs", type=int, default=FinetuneDefaults.epochs, show_default=True,
              help="Epochs added to --epochs for the from-scratch schedule of the re-ranking, the chosen model's "
                   "final training and the hand baseline.")
@click.option("--baseline", is_flag=True,
              help="Also train the hand-designed model of the family, widened to the same budget, with the same "
                   "data and schedule, and print both side by side.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True,
              help="Where the supernet trains (cuda falls back to the CPU, with a note, when there is no GPU).")
@click.option("--population", type=int, default=EvoDefaults.population, show_default=True)
@click.option("--parents", type=int, default=EvoDefaults.parents, show_default=True, help="Top-k kept each generation.")
@click.option("--mutations", type=int, default=EvoDefaults.mutations, show_default=True)
@click.option("--crossovers", type=int, default=EvoDefaults.crossovers, show_default=True)
@click.option("--generations", type=int, default=EvoDefaults.generations, show_default=True)
@click.option("--rerank", "rerank_k", type=int, default=RerankDefaults.top_k, show_default=True,
              help="Best candidates (by inherited validation accuracy) re-trained from scratch, with the hand design, "
                   "to pick the winner by validation accuracy.")
@click.option("--rerank-seeds", type=int, default=RerankDefaults.seeds, show_default=True,
              help="Training seeds per re-ranked candidate (the score is the mean).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=Path("best.onnx"), show_default=True,
              help="Where the chosen sub-network's ONNX goes.")
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path), help="Write the Pareto plot (PNG).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--progress/--no-progress", default=None, help="Progress bars (default: when stderr is a terminal).")
@click.option("--check-on", type=click.Choice(["qemu", "host"]), default="qemu", show_default=True,
              help="Where the chosen model's compiled C runs over the test split (qemu: flashed into the "
                   "board's simulator over GDB, samples over its UART).")
def nas(family: str, board: str, dataset: str, ram_budget: str | None, flash_budget: str | None, epochs: int,
        finetune_epochs: int, baseline: bool, device: str, population: int, parents: int, mutations: int,
        crossovers: int, generations: int, rerank_k: int, rerank_seeds: int, seed: int, out: Path,
        plot: Path | None, as_json: bool, progress: bool | None, check_on: str) -> None:
    """Search a ViT or CNN that fits a board's measured RAM and flash; export it to ONNX."""
    try:
        _run(family, board, dataset, ram_budget, flash_budget, epochs, finetune_epochs, population, parents,
             mutations, crossovers, generations, seed, out, plot, as_json, progress, check_on, baseline, device,
             rerank_k, rerank_seeds)
    except McuforgeError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(2)


def _run(family, board, dataset, ram_budget, flash_budget, epochs, finetune_epochs, population, parents,
         mutations, crossovers, generations, seed, out, plot, as_json, progress, check_on="host", baseline=False,
         device="auto", rerank_k=3, rerank_seeds=2) -> None:
    import importlib.util

    missing = [m for m in ("torch", "sklearn", "tqdm") if importlib.util.find_spec(m) is None]
    if missing:
        raise McuforgeError(f"mcuforge nas needs {', '.join(missing)}: pip install 'mcuforge[nas]'")
    from toolchain.nas.evolution import EvolutionOptions
    from toolchain.nas.measure import parse_bytes
    from toolchain.nas.rerank import RerankOptions
    from toolchain.nas.search import NasOptions, run_nas
    from toolchain.nas.train import FinetuneOptions, TrainOptions

    for name, v, low in (("--epochs", epochs, 1), ("--population", population, 1), ("--parents", parents, 1),
                         ("--generations", generations, 1), ("--finetune-epochs", finetune_epochs, 0),
                         ("--rerank", rerank_k, 0), ("--rerank-seeds", rerank_seeds, 1)):
        if v < low:
            raise McuforgeError(f"{name} must be at least {low}")
    opts = NasOptions(
        family=family, board=board, dataset=dataset,
        ram_budget=parse_bytes(ram_budget) if ram_budget else None,
        flash_budget=parse_bytes(flash_budget) if flash_budget else None,
        train=TrainOptions(epochs=epochs, seed=seed, device=device),
        finetune=FinetuneOptions(epochs=finetune_epochs, seed=seed), baseline=baseline,
        rerank=RerankOptions(rerank_k, rerank_seeds),
        evolution=EvolutionOptions(population, parents, mutations, crossovers, generations, seed=seed),
        out=out, seed=seed, progress=sys.stderr.isatty() if progress is None else progress)
    runner = None
    if check_on == "qemu":
        from toolchain.boards import load_board
        from toolchain.nas.qemu_runner import qemu_runner

        if load_board(board).qemu is None:
            raise McuforgeError(f"board {board} has no simulator: use --check-on host")
        runner = qemu_runner(board)
    r = run_nas(opts, runner=runner)
    if r is None:  # a helper rank under torchrun: rank 0 reports
        return
    if plot:
        from toolchain.nas.plot import plot_pareto

        hand = [(r.baseline.label, r.baseline.footprint.arena_bytes, r.baseline.check.torch_accuracy)] \
            if r.baseline else []
        chosen = next((c for c in r.search.evaluated if c.config == r.config), None)
        plot_pareto(r.search.evaluated, r.pareto, chosen, r.budget.ram_bytes, plot,
                    f"{family} on {dataset}, {r.budget.board}", hand=hand, chosen_test=r.check.torch_accuracy,
                    chosen_arena=r.arena_bytes)
    if as_json:
        click.echo(json.dumps(r.to_json(), indent=2))
        return
    click.echo(f"budget       {r.budget.describe()}")
    click.echo(f"searched     {len(r.search.evaluated)} sub-networks scored, {r.search.measured} compiled, "
               f"{r.search.rejected} over budget")
    click.echo("")
    click.echo("Pareto front (validation accuracy, inherited weights; flash = weights + code bytes of a linked ELF):")
    click.echo(f"  {'acc %':>6} {'RAM B':>9} {'flash B':>9}  config")
    for c in r.pareto:
        mark = "*" if c.config == r.config else " "
        click.echo(f"{mark} {100 * c.accuracy:6.2f} {c.arena_bytes:9,} {c.flash_bytes:9,}  {c.config.short()}")
    click.echo("")
    click.echo(f"re-ranking   trained from scratch ({epochs + finetune_epochs} epochs, the hand design's schedule) "
               f"on the training split; validation %, per seed:")
    for i, k in enumerate(r.ranking):
        inh = f"{100 * k.entry.inherited:6.2f}" if k.entry.inherited is not None else f"{'-':>6}"
        vals = " ".join(f"{100 * v:6.2f}" for v in k.val)
        click.echo(f"{'*' if i == 0 else ' '} mean {100 * k.mean:6.2f} [{vals}] inherited {inh} "
                   f"{k.entry.footprint.arena_bytes:9,} B  {k.entry.label}")
    click.echo("")
    click.echo(f"chosen       {r.label}")
    inherited = f"{100 * r.inherited_accuracy:.2f}%" if r.inherited_accuracy is not None else "-"
    click.echo(f"accuracy     {inherited} test with the supernet's weights (PyTorch), "
               f"{100 * r.check.torch_accuracy:.2f}% trained from scratch {epochs + finetune_epochs} epochs")
    rows = [("searched", r.chosen)] + ([("hand", r.baseline)] if r.baseline else [])
    click.echo("")
    click.echo(f"  {'model':<9} {'test % (C)':>10} {'agree':>9} {'arena B':>9} {'flash B (ELF)':>14}  config")
    for name, t in rows:
        click.echo(f"  {name:<9} {100 * t.check.c_accuracy:10.2f} {t.check.agree:>4}/{t.check.samples:<4} "
                   f"{t.footprint.arena_bytes:9,} {t.footprint.flash_bytes:14,}  {t.label}")
    click.echo("")
    click.echo(f"budget       arena {_kib(r.arena_bytes)} of {_kib(r.budget.ram_bytes)} (compiled, exact); "
               f"flash {_kib(r.flash_bytes)} of {_kib(r.budget.flash_bytes)} (linked ELF for {r.budget.board})")
    chk = r.check
    click.echo(f"check        compiled C ({check_on}) {100 * chk.c_accuracy:.2f}%, PyTorch "
               f"{100 * chk.torch_accuracy:.2f}%; arg-max agrees on {chk.agree}/{chk.samples}")
    t = r.seconds
    click.echo(f"time         {t['wall']:.0f} s wall, {t['cpu']:.0f} s CPU (wall: supernet {t['train']:.0f} s, "
               f"search {t['search']:.0f} s, re-ranking {t['rerank']:.0f} s, final training {t['retrain']:.0f} s, export and check "
               f"{t['export_check']:.0f} s)")
    if plot:
        click.echo(f"plot         {plot}")
    click.echo(f"wrote        {out}")
