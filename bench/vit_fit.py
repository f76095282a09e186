"""How big a ViT fits 320 KB of SRAM: naive (op-by-op) scheduling vs the MCUFormer-style one.

    python bench/vit_fit.py [--board stm32f746-disco] [--json]

The family is examples/lowrank_vit.py's (patch 16, depth 4, 4 heads, MLP ratio 2, low rank 16).
Two searches: the largest input resolution at embedding 128, and the widest embedding (a
multiple of 32) at 112x112. A configuration fits when arena + the board's stack reserve + 1 KB
of other static data <= the board's RAM, the arena being exact from our planner. Weight bytes
are printed beside it (flash is a separate budget). Needs PyTorch (pip install -e .[nas]).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "examples"))

from toolchain.api import CompileOptions, compile_model  # noqa: E402
from toolchain.boards import load_board  # noqa: E402

STATIC_SLACK = 1024


def export(image: int, embed: int, out: Path) -> Path:
    import torch  # noqa: F401  (fails clearly when the extra is missing)
    from lowrank_vit import low_rank
    from vit_tiny import ViT, export_onnx

    torch.manual_seed(0)
    model = ViT(image, 16, embed, 4, 4, linear=low_rank(16)).eval()
    export_onnx(model, image, out, 17, dynamo=False)
    return out


def needs(path: Path, schedule: str) -> tuple[int, int]:
    cm = compile_model(path, options=CompileOptions.schedule(schedule))
    return cm.arena_bytes, cm.weight_bytes


def largest(values: list[int], fits) -> int | None:  # noqa: ANN001
    """Largest value v (values ascending) with fits(v), assuming fitting is monotone."""
    lo, hi, best = 0, len(values) - 1, None
    while lo <= hi:
        mid = (lo + hi) // 2
        if fits(values[mid]):
            best, lo = values[mid], mid + 1
        else:
            hi = mid - 1
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--board", default="stm32f746-disco")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    board = load_board(args.board)
    budget = board.memory.ram.size - board.memory.stack_size - STATIC_SLACK
    rows, cache = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        def fits(image: int, embed: int, schedule: str) -> bool:
            key = (image, embed)
            if key not in cache:
                cache[key] = export(image, embed, Path(tmp) / f"vit_{image}_{embed}.onnx")
            arena, weights = needs(cache[key], schedule)
            rows.append({"image": image, "embed": embed, "schedule": schedule, "arena": arena,
                         "weights": weights, "fits": arena <= budget})
            return arena <= budget

        result = {}
        for schedule in ("naive", "mcuformer"):
            result[schedule] = {
                "largest_image": largest(list(range(64, 321, 16)), lambda v: fits(v, 128, schedule)),
                "widest_embed": largest(list(range(64, 1025, 32)), lambda v: fits(112, v, schedule)),
            }
    if args.json:
        print(json.dumps({"board": board.name, "ram_budget_for_arena": budget, "result": result, "tried": rows}))
        return
    print(f"{board.name}: {board.memory.ram.size:,} B RAM, {budget:,} B left for the arena "
          f"(stack {board.memory.stack_size:,} B, {STATIC_SLACK} B other static data)")
    print(f"{'image':>6}{'embed':>7}  {'schedule':<10}{'arena':>10}{'weights':>11}  fits")
    for r in sorted(rows, key=lambda r: (r["schedule"], r["image"], r["embed"])):
        print(f"{r['image']:>6}{r['embed']:>7}  {r['schedule']:<10}{r['arena']:>10,}{r['weights']:>11,}  {r['fits']}")
    for schedule, r in result.items():
        print(f"{schedule:<10} largest input {r['largest_image']}x{r['largest_image']} (embed 128);  "
              f"widest embedding {r['widest_embed']} (112x112)")


if __name__ == "__main__":
    main()
