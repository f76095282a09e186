"""MCUFormer-style low-rank Vision Transformer and its ONNX export.

Every projection in attention (q, k, v, proj) and in the MLP (fc1, fc2) becomes a chain
in -> rank -> out: a bias-free Linear then a biased one. That cuts weights from in*out to
rank*(in + out), which is what lets a 112x112 ViT fit a microcontroller's flash. The blocks
are those of vit_tiny.py; only the Linear factory changes.

Run with no arguments to regenerate the committed lowrank_vit_112.onnx (legacy exporter,
opset 17, so LayerNormalization is one op and GELU is the Erf formula).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from torch import nn

from vit_tiny import HERE, LinearFactory, ViT, export_and_check


def low_rank(rank: int) -> LinearFactory:
    def make(in_features: int, out_features: int) -> nn.Module:
        # The first factor has no bias: a bias there would fold into the second one's anyway.
        return nn.Sequential(nn.Linear(in_features, rank, bias=False), nn.Linear(rank, out_features))

    return make


def param_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=HERE / "lowrank_vit_112.onnx")
    p.add_argument("--opset", type=int, default=17)
    p.add_argument("--rank", type=int, default=16)
    p.add_argument("--embed", type=int, default=128)
    p.add_argument("--depth", type=int, default=4)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--patch", type=int, default=16)
    p.add_argument("--image", type=int, default=112)
    p.add_argument("--check", action="store_true", help="compare onnxruntime with PyTorch")
    args = p.parse_args()

    torch.manual_seed(0)
    model = ViT(args.image, args.patch, args.embed, args.depth, args.heads, linear=low_rank(args.rank)).eval()
    # The same shape with dense projections, only to show what the factorization saves.
    dense_params = param_count(ViT(args.image, args.patch, args.embed, args.depth, args.heads))
    params = param_count(model)
    print(f"parameters: {params} ({params * 4} FP32 weight bytes); dense equivalent: {dense_params}")
    export_and_check(model, args.image, args.out, args.opset, dynamo=False, check=args.check)


if __name__ == "__main__":
    main()
