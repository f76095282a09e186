"""Search a low-rank ViT (or a CNN) for the digits data set under a 32 KB RAM budget, from Python.

    python examples/nas_digits.py --family vit --ram 32K
    torchrun --nproc_per_node=2 examples/nas_digits.py --epochs 10   # DDP supernet training

The same flow as `mcuforge nas`; run_nas returns None on the helper ranks of a torchrun launch.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from toolchain.nas.evolution import EvolutionOptions
from toolchain.nas.measure import parse_bytes
from toolchain.nas.search import NasOptions, run_nas
from toolchain.nas.train import TrainOptions


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--family", choices=("vit", "cnn"), default="vit")
    p.add_argument("--ram", default="32K")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--generations", type=int, default=5)
    p.add_argument("--out", type=Path, default=Path("nas_digits.onnx"))
    args = p.parse_args()
    r = run_nas(NasOptions(
        family=args.family, ram_budget=parse_bytes(args.ram), train=TrainOptions(epochs=args.epochs),
        evolution=EvolutionOptions(population=20, parents=5, mutations=10, crossovers=10,
                                   generations=args.generations),
        out=args.out, progress=True))
    if r is not None:
        j = r.to_json()
        j.pop("pareto")
        print(json.dumps(j, indent=2))


if __name__ == "__main__":
    main()
