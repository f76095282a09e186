"""NAS on digits for stm32f746-disco: best low-rank ViT and best CNN at 16, 32 and 64 KB of RAM,
next to a hand-designed plain CNN widened to the same budget, with wall times.

One-shot NAS: each family's supernet is trained once, then searched once per budget. Every
RAM/flash figure is the compiler's arena / weight bytes for the exported ONNX; every accuracy
is the compiled C's on the 360-sample test split (checked equal, sample by sample, to
PyTorch's).

    python bench/nas.py                        # about 10-15 minutes on 2 CPU cores
    python bench/nas.py --epochs 5 --generations 2 --budgets 32K   # a quick look
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from toolchain.nas.baseline import PlainCNN, fit_baseline
from toolchain.nas.data import load_dataset
from toolchain.nas.deploy import compiled_accuracy, export_subnet, host_runner
from toolchain.nas.evolution import EvolutionOptions, evolve
from toolchain.nas.measure import CODE_ALLOWANCE_BYTES, FootprintCache, board_budget, parse_bytes
from toolchain.nas.search import build_supernet, fitted_space
from toolchain.nas.train import SubnetEvaluator, TrainOptions, finetune, train_plain, train_supernet

BOARD = "stm32f746-disco"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--budgets", default="16K,32K,64K")
    p.add_argument("--epochs", type=int, default=30, help="supernet epochs (and baseline epochs)")
    p.add_argument("--finetune", type=int, default=10, help="fine-tune epochs of each chosen sub-network")
    p.add_argument("--population", type=int, default=20)
    p.add_argument("--generations", type=int, default=8)
    p.add_argument("--json", type=Path, help="also write the rows as JSON")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    budgets = [parse_bytes(b) for b in args.budgets.split(",")]
    evo = EvolutionOptions(population=args.population, parents=max(2, args.population // 4),
                           mutations=args.population // 2, crossovers=args.population // 2,
                           generations=args.generations, seed=args.seed)
    data = load_dataset("digits", args.seed)
    runner = host_runner()
    rows: list[dict] = []

    for family in ("vit", "cnn"):
        space = fitted_space(family, data)
        torch.manual_seed(args.seed)
        t0 = time.perf_counter()
        supernet = build_supernet(space)
        train_supernet(supernet, space, data, TrainOptions(epochs=args.epochs, seed=args.seed))
        train_s = time.perf_counter() - t0
        evaluator = SubnetEvaluator(supernet, data, seed=args.seed)
        measure = FootprintCache(lambda c: supernet.extract(c).cpu(), data.channels, lambda c: c.resolution)
        for ram in budgets:
            budget = board_budget(BOARD, ram)
            t0 = time.perf_counter()
            log = evolve(space, evaluator, measure, budget, evo)
            search_s = time.perf_counter() - t0
            best = log.best.config
            split = data.at(best.resolution)
            model = finetune(evaluator.extract(best), split.train, args.finetune, seed=args.seed)
            ex = export_subnet(model, data.channels, best.resolution)
            chk = compiled_accuracy(ex, split.test, runner)
            rows.append(dict(family=family, ram_budget=ram, accuracy=chk.c_accuracy, torch_accuracy=chk.torch_accuracy,
                             agree=f"{chk.agree}/{chk.samples}", val_accuracy=log.best.accuracy,
                             arena_bytes=ex.footprint.arena_bytes, flash_bytes=ex.footprint.flash_bytes,
                             macs=ex.footprint.macs, config=best.short(), scored=len(log.evaluated),
                             compiled=log.measured, train_s=round(train_s, 1), search_s=round(search_s, 1)))
            _print_row(rows[-1])

    for ram in budgets:
        budget = board_budget(BOARD, ram)
        width, _ = fit_baseline(budget, data.channels, data.classes, data.size)
        torch.manual_seed(args.seed)
        t0 = time.perf_counter()
        model = train_plain(PlainCNN(width, data.channels, data.classes), data.train, args.epochs, seed=args.seed)
        train_s = time.perf_counter() - t0
        ex = export_subnet(model, data.channels, data.size)
        chk = compiled_accuracy(ex, data.test, runner)
        rows.append(dict(family="plain", ram_budget=ram, accuracy=chk.c_accuracy, torch_accuracy=chk.torch_accuracy,
                         agree=f"{chk.agree}/{chk.samples}", val_accuracy=None,
                         arena_bytes=ex.footprint.arena_bytes, flash_bytes=ex.footprint.flash_bytes,
                         macs=ex.footprint.macs, config=f"plain cnn r{data.size} width {width}", scored=0,
                         compiled=0, train_s=round(train_s, 1), search_s=0.0))
        _print_row(rows[-1])

    print()
    print(f"digits on {BOARD}; supernet/baseline epochs {args.epochs}, fine-tune {args.finetune}, "
          f"population {evo.population}, generations {evo.generations}; flash = weights + "
          f"{CODE_ALLOWANCE_BYTES // 1024} KiB code allowance; accuracy = compiled C on the test split")
    print(f"{'budget':>7} {'family':<6} {'test %':>7} {'agree':>8} {'arena B':>8} {'flash B':>8} {'MACs':>9} "
          f"{'train s':>8} {'search s':>9}  config")
    for r in sorted(rows, key=lambda r: (r["ram_budget"], r["family"])):
        _print_row(r)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


def _print_row(r: dict) -> None:
    print(f"{r['ram_budget'] // 1024:>6}K {r['family']:<6} {100 * r['accuracy']:7.2f} {r['agree']:>8} "
          f"{r['arena_bytes']:8,} {r['flash_bytes']:8,} {r['macs']:9,} {r['train_s']:8.1f} {r['search_s']:9.1f}  "
          f"{r['config']}", flush=True)


if __name__ == "__main__":
    main()
