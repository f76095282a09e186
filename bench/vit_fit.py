"""How big a ViT fits 320 KB of SRAM: naive (op-by-op) scheduling vs the MCUFormer-style one,
and the MCUFormer-style one with the streamed row input (--stream-input: the image is never
whole in RAM), in FP32 and in int8.

    python bench/vit_fit.py [--board stm32f746-disco] [--json] [--no-int8 | --no-fp32]

The family is examples/lowrank_vit.py's (patch 16, depth 4, 4 heads, MLP ratio 2, low rank 16).
Two searches: the largest input resolution at embedding 128, and the widest embedding (a
multiple of 32) at 112x112. A configuration fits when arena + the board's stack reserve + 1 KB
of other static data <= the board's RAM, the arena being exact from our planner. Weight bytes
are printed beside it (flash is a separate budget). int8: the float ViT exported at opset 20 and
quantised by toolchain/quantize.py (onnxruntime QDQ, 2 seeded synthetic calibration samples: the
arena does not depend on the scales), its image taken as int8 (--int-input). Where a configuration does not
compile, the column prints why. Needs PyTorch (pip install -e .[nas]).
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
from toolchain.errors import McuforgeError  # noqa: E402

# the schedules compared: name -> compile options (stream: the full schedule fed by rows)
SCHEDULES = {"naive": CompileOptions.schedule("naive"), "mcuformer": CompileOptions(),
             "stream": CompileOptions(stream_input=True)}
INT8 = {"naive": CompileOptions.schedule("naive", int_input=True), "mcuformer": CompileOptions(int_input=True),
        "stream": CompileOptions(int_input=True, stream_input=True)}


class NoCompile(Exception):
    """A configuration the compiler refuses: the column says why instead of a size."""

STATIC_SLACK = 1024
IMAGES = list(range(64, 321, 16))  # input sizes searched (embedding 128)
EMBEDS = list(range(64, 1025, 32))  # embedding widths searched (112x112)
# int8 holds a quarter of the bytes: its searches go further (the FP32 ranges stop inside them)
IMAGES_INT8 = list(range(64, 513, 16))
EMBEDS_INT8 = list(range(64, 2049, 32))


def export(image: int, embed: int, out: Path, opset: int = 17) -> Path:
    import torch  # noqa: F401  (fails clearly when the extra is missing)
    from lowrank_vit import low_rank
    from vit_tiny import ViT, export_onnx

    torch.manual_seed(0)
    model = ViT(image, 16, embed, 4, 4, linear=low_rank(16)).eval()
    export_onnx(model, image, out, opset, dynamo=False)
    return out


def quantised(path: Path) -> Path:
    from toolchain.quantize import quantize_file

    try:
        return Path(quantize_file(path, path.with_suffix(".int8.onnx"), None, 2, False, 0))
    except McuforgeError as e:
        raise NoCompile(f"quantize: {str(e).splitlines()[0]}") from None


def needs(path: Path, options: CompileOptions) -> tuple[int, int]:
    try:
        cm = compile_model(path, options=options)
    except McuforgeError as e:  # e.g. int8 ViT ops missing: one line, the reason
        raise NoCompile(str(e).splitlines()[0]) from None
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
    ap.add_argument("--no-int8", action="store_true", help="FP32 columns only")
    ap.add_argument("--no-fp32", action="store_true", help="int8 columns only")
    args = ap.parse_args()
    board = load_board(args.board)
    budget = board.memory.ram.size - board.memory.stack_size - STATIC_SLACK
    rows, cache = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        def fits(image: int, embed: int, dtype: str, schedule: str) -> bool:
            key = (image, embed, dtype)
            if key not in cache:
                # int8: opset 20, where LayerNormalization and Gelu are single ops the int8
                # frontend folds (docs/int8_vit.md); FP32 keeps the committed models' opset 17
                opset = 20 if dtype == "int8" else 17
                f = export(image, embed, Path(tmp) / f"vit_{image}_{embed}_{opset}.onnx", opset)
                cache[key] = quantised(f) if dtype == "int8" else f
            opts = (INT8 if dtype == "int8" else SCHEDULES)[schedule]
            arena, weights = needs(cache[key], opts)
            rows.append({"image": image, "embed": embed, "dtype": dtype, "schedule": schedule, "arena": arena,
                         "weights": weights, "fits": arena <= budget})
            return arena <= budget

        def search(dtype: str, schedule: str) -> dict:
            images, embeds = (IMAGES_INT8, EMBEDS_INT8) if dtype == "int8" else (IMAGES, EMBEDS)
            try:
                return {"largest_image": largest(images, lambda v: fits(v, 128, dtype, schedule)),
                        "widest_embed": largest(embeds, lambda v: fits(112, v, dtype, schedule))}
            except NoCompile as e:
                return {"largest_image": None, "widest_embed": None, "error": str(e)}

        result = {} if args.no_fp32 else {s: search("fp32", s) for s in SCHEDULES}
        if not args.no_int8:
            result["int8"] = {s: search("int8", s) for s in INT8}
    if args.json:
        print(json.dumps({"board": board.name, "ram_budget_for_arena": budget, "result": result, "tried": rows}))
        return
    print(f"{board.name}: {board.memory.ram.size:,} B RAM, {budget:,} B left for the arena "
          f"(stack {board.memory.stack_size:,} B, {STATIC_SLACK} B other static data)")
    print(f"{'image':>6}{'embed':>7}  {'dtype':<6}{'schedule':<10}{'arena':>10}{'weights':>11}  fits")
    for r in sorted(rows, key=lambda r: (r["dtype"], r["schedule"], r["image"], r["embed"])):
        print(f"{r['image']:>6}{r['embed']:>7}  {r['dtype']:<6}{r['schedule']:<10}{r['arena']:>10,}{r['weights']:>11,}"
              f"  {r['fits']}")
    print(f"\n{'dtype':<6}{'schedule':<11}{'largest input (embed 128)':<28}widest embedding (112x112)")
    table = [("fp32", k, v) for k, v in result.items() if k != "int8"]
    table += [("int8", k, v) for k, v in result.get("int8", {}).items()]
    for dtype, schedule, r in table:
        if "error" in r:
            print(f"{dtype:<6}{schedule:<11}does not compile: {r['error']}")
            continue
        img = f"{r['largest_image']}x{r['largest_image']}" if r["largest_image"] else "none"
        wide = r["widest_embed"]
        images, embeds = (IMAGES_INT8, EMBEDS_INT8) if dtype == "int8" else (IMAGES, EMBEDS)
        wide = f">= {wide} (the search's limit)" if wide == embeds[-1] else wide or "none"
        img = f">= {img} (the search's limit)" if r["largest_image"] == images[-1] else img
        print(f"{dtype:<6}{schedule:<11}{img:<28}{wide}")


if __name__ == "__main__":
    main()
