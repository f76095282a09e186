"""Per-layer profile in QEMU (`mcuforge run --sim --profile`): per model and board, the
instructions per inference, how much of it the per-node counts cover, the profile's overhead
against a build without the markers, and the layers that cost the most, with their
instructions per MAC and kernel. On rv32-rvv the cost is LMUL-weighted.

    python bench/profile.py [--boards stm32f746-disco,rv32-rvv] [--models resnet8,dscnn,vit] [--top 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from toolchain.run import run_on_board  # noqa: E402

SHARED = ROOT.parent / "shared" / "models"
if not SHARED.is_dir():  # a worktree elsewhere: as tests/conftest.py
    SHARED = Path(os.environ.get("MCUFORGE_SHARED", "/work/shared")) / "models"
MODELS = {"resnet8": SHARED / "resnet8_cifar10.onnx", "dscnn": SHARED / "dscnn_kws.onnx",
          "vit": ROOT / "examples" / "vit_tiny_opset18.onnx"}


def one(model: Path, board: str, top: int) -> dict:
    plain = run_on_board(model, board, timeout=1800)
    prof = run_on_board(model, board, timeout=1800, profile=True)
    assert prof.layers is not None and prof.cost and plain.cost
    covered = sum(x.cost for x in prof.layers)
    worst = sorted(prof.layers, key=lambda x: -x.cost)[:top]
    return {"model": model.stem, "board": board, "match": prof.match,
            "count": "LMUL-weighted" if prof.weighted_instructions is not None else "plain",
            "instructions": prof.cost, "without_markers_build": plain.cost,
            "profile_overhead": round(prof.cost / plain.cost - 1, 5),
            "layers_sum": covered, "coverage": round(covered / prof.cost, 5), "macs": prof.macs,
            "nodes": len(prof.layers),
            "top": [{"node": x.node, "op": x.op, "kernel": x.kernel, "cost": x.cost, "macs": x.macs,
                     "instr_per_mac": round(x.instructions_per_mac, 2) if x.instructions_per_mac else None,
                     "share": round(x.cost / prof.cost, 3)} for x in worst]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--boards", default="stm32f746-disco,rv32-rvv")
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--top", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    rows = [one(MODELS[m], b, a.top) for b in a.boards.split(",") for m in a.models.split(",")]
    if a.json:
        print(json.dumps(rows, indent=1))
        return
    print(f"{'model':<20}{'board':<18}{'count':<15}{'instructions':>13}{'layers sum':>13}{'covered':>9}"
          f"{'markers cost':>13}  most expensive layers (share, instr/MAC, kernel)")
    for r in rows:
        tops = "; ".join(f"{t['node'][-28:]} {t['share']:.0%} {t['instr_per_mac'] or '-'} {t['kernel']}" for t in r["top"])
        print(f"{r['model']:<20}{r['board']:<18}{r['count']:<15}{r['instructions']:>13,}{r['layers_sum']:>13,}"
              f"{r['coverage']:>9.3%}{r['profile_overhead']:>+13.4%}  {tops}")


if __name__ == "__main__":
    main()
