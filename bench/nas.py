"""NAS on digits for stm32f746-disco: the searched CNN and low-rank ViT at 16, 32 and 64 KB of
RAM, each next to the hand-designed model of its family widened to the same budget and trained
on the same data with the same schedule (``mcuforge nas --baseline``).

Per (family, budget): the space is cut to what the budget admits, a supernet trained with
progressive shrinking, sandwich rule and in-place distillation, evolution under the budget
(every candidate compiled), then the re-ranking: the best ``--rerank`` candidates and the hand
model trained from scratch on the training split with one schedule (``--epochs`` +
``--finetune`` epochs, warm-up + cosine) for ``--rerank-seeds`` seeds, the winner picked by
mean validation accuracy and trained from scratch with that schedule on training + validation
data, exactly as the hand model is. Every arena is the compiler's for the exported ONNX; every
flash figure is read from the ELF linked for the board; every accuracy is the compiled C's on
the 360-sample test split (checked equal, sample by sample, to PyTorch's). Wall and CPU
seconds are per (family, budget) run, the baseline included (the pair of rows shares them).
Per run a Pareto plot (``--plot-dir``): candidates' inherited validation accuracy vs arena,
the chosen and the hand model's test accuracy.

    python bench/nas.py                                     # long on 2 shared CPU cores
    python bench/nas.py --families cnn --budgets 16K --epochs 10 --finetune 10   # a quick look
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

# Run as a script, bench/ is first on sys.path, and bench/profile.py would shadow the standard
# library's `profile` that torch imports (through cProfile) when it builds its optimiser.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from toolchain.nas.data import load_dataset
from toolchain.nas.evolution import EvolutionOptions
from toolchain.nas.measure import parse_bytes
from toolchain.nas.rerank import RerankOptions
from toolchain.nas.search import NasOptions, NasResult, Trained, run_nas
from toolchain.nas.train import FinetuneOptions, TrainOptions

BOARD = "stm32f746-disco"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--budgets", default="16K,32K,64K")
    p.add_argument("--families", default="cnn,vit")
    p.add_argument("--epochs", type=int, default=TrainOptions.epochs, help="supernet epochs")
    p.add_argument("--finetune", type=int, default=FinetuneOptions.epochs, help="retraining epochs of the winner")
    p.add_argument("--population", type=int, default=EvolutionOptions.population)
    p.add_argument("--generations", type=int, default=EvolutionOptions.generations)
    p.add_argument("--rerank", type=int, default=RerankOptions.top_k, help="candidates re-trained with the hand model")
    p.add_argument("--rerank-seeds", type=int, default=RerankOptions.seeds)
    p.add_argument("--json", type=Path, help="also write the rows as JSON")
    p.add_argument("--plot-dir", type=Path, help="write nas_pareto_<family>_<budget>.png here")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    evo = EvolutionOptions(population=args.population, parents=max(2, args.population // 3),
                           mutations=args.population // 2, crossovers=args.population // 2,
                           generations=args.generations, seed=args.seed)
    data = load_dataset("digits", args.seed)
    rows: list[dict] = []
    print(HEADER, flush=True)
    for family in args.families.split(","):
        for ram in (parse_bytes(b) for b in args.budgets.split(",")):
            t0 = time.perf_counter()
            opts = NasOptions(family=family, board=BOARD, ram_budget=ram, seed=args.seed,  # type: ignore[arg-type]
                              train=TrainOptions(epochs=args.epochs), finetune=FinetuneOptions(epochs=args.finetune),
                              evolution=evo, baseline=True, rerank=RerankOptions(args.rerank, args.rerank_seeds))
            r = run_nas(opts, data=data)
            assert r is not None and r.baseline is not None
            wall = time.perf_counter() - t0
            for kind, t in (("searched", r.chosen), ("hand", r.baseline)):
                rows.append(_row(family, ram, kind, t, r.inherited_accuracy if kind == "searched" else None, wall,
                                 r.seconds["cpu"]))
                print(_fmt(rows[-1]), flush=True)
            rows[-2]["rerank"] = r.to_json()["rerank"]
            for k in r.ranking:
                print(f"        rerank {100 * k.mean:6.2f} val {[round(100 * v, 2) for v in k.val]} "
                      f"{k.entry.footprint.arena_bytes:8,} B  {k.entry.label}", flush=True)
            if args.plot_dir:
                _plot(r, family, ram, args.plot_dir / f"nas_pareto_{family}_{ram // 1024}K.png")
            if args.json:  # after every run: a stopped bench keeps the rows it has
                args.json.write_text(json.dumps(rows, indent=2) + "\n")
    print()
    print(f"digits (8x8, 360 test samples) on {BOARD}; supernet {args.epochs} epochs; re-ranking, chosen and hand "
          f"models {args.epochs + args.finetune} epochs from scratch (top {args.rerank} + hand, "
          f"{args.rerank_seeds} seeds); population {evo.population}, generations {evo.generations}; "
          f"arena = compiled, flash = linked ELF; test % = compiled C")
    print(HEADER)
    for r in rows:
        print(_fmt(r))


HEADER = (f"{'budget':>6} {'family':<6} {'model':<9} {'test %':>7} {'inherit %':>9} {'agree':>8} {'arena B':>8} "
          f"{'flash B':>8} {'MACs':>10} {'wall s':>7} {'CPU s':>6}  config")


def _row(family: str, ram: int, kind: str, t: Trained, inherited: float | None, wall: float, cpu: float) -> dict:
    f = t.footprint
    return dict(family=family, ram_budget=ram, model=kind, accuracy=t.check.c_accuracy,
                torch_accuracy=t.check.torch_accuracy, inherited_accuracy=inherited,
                agree=f"{t.check.agree}/{t.check.samples}", arena_bytes=f.arena_bytes, flash_bytes=f.flash_bytes,
                macs=f.macs, config=t.label, wall_s=round(wall, 1), cpu_s=round(cpu, 1))


def _plot(r: NasResult, family: str, ram: int, out: Path) -> None:
    from toolchain.nas.plot import plot_pareto

    assert r.baseline is not None
    hand = [(r.baseline.label, r.baseline.footprint.arena_bytes, r.baseline.check.torch_accuracy)]
    chosen = next((c for c in r.search.evaluated if c.config == r.config), None)
    plot_pareto(r.search.evaluated, r.pareto, chosen, r.budget.ram_bytes, out,
                f"{family} on digits, {ram // 1024} KB, {BOARD}", hand=hand, chosen_test=r.check.torch_accuracy,
                chosen_arena=r.arena_bytes)


def _fmt(r: dict) -> str:
    inh = f"{100 * r['inherited_accuracy']:9.2f}" if r["inherited_accuracy"] is not None else f"{'-':>9}"
    return (f"{r['ram_budget'] // 1024:>5}K {r['family']:<6} {r['model']:<9} {100 * r['accuracy']:7.2f} {inh} "
            f"{r['agree']:>8} {r['arena_bytes']:8,} {r['flash_bytes']:8,} {r['macs']:10,} {r['wall_s']:7.0f} "
            f"{r['cpu_s']:6.0f}  "
            f"{r['config']}")


if __name__ == "__main__":
    main()
