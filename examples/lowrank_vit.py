"""MCUFormer-style low-rank Vision Transformer and its ONNX export.

Every projection in attention (q, k, v, proj) and in the MLP (fc1, fc2) becomes a chain
in -> rank -> out: a bias-free Linear then a biased one. That cuts weights from in*out to
rank*(in + out), which is what lets a 112x112 ViT fit a microcontroller's flash. The blocks
are those of vit_tiny.py; only the Linear factory changes.

Run with no arguments to regenerate the committed lowrank_vit_112.onnx (legacy exporter,
opset 17, so LayerNormalization is one op and GELU is the Erf formula).

`--config mcuformer240 --int8 lowrank_vit_240_int8.onnx` makes the integer-only model of
issue 15, near MCUFormer's deployment: 3x240x240 input, patch 16 (225 tokens + class token),
embedding 128, depth 4, 2 heads, rank 32 in every attention and MLP projection. It is
exported at opset 20 (LayerNormalization and Gelu are single ops), quantized as
`mcuforge quantize` does (onnxruntime's quantize_static, every op QDQ, seeded synthetic
calibration), and its input QuantizeLinear is removed so the file takes the int8 image
(172,800 B instead of 691,200 B of float), as int8 TFLite models converted by tf2onnx do.
Two heads, not four: the op-by-op int8 attention holds all heads' 226x226 scores at once.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from torch import nn

from vit_tiny import HERE, LinearFactory, ViT, export_and_check

RIDGE = 0.01  # relative to the mean feature energy; int8 rounding then flips only near-ties (docs/int8_vit.md)
CONFIGS = {"mcuformer240": dict(image=240, patch=16, embed=128, depth=4, heads=2, rank=32, opset=20, probe=True)}


def pattern_images(n: int, image: int, classes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded synthetic images of `classes` kinds: class c is a grating at angle c * 180/classes
    over a smooth colour field, values about [-2, 2] (a stand-in for a labelled data set;
    numpy only, so tests draw the same images without torch)."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % classes
    yy, xx = np.meshgrid(np.linspace(0, 1, image), np.linspace(0, 1, image), indexing="ij")
    out = np.empty((n, 3, image, image), np.float32)
    for k, c in enumerate(labels):
        theta = np.pi * c / classes + 0.1 * rng.standard_normal()
        freq = 3.0 + 2.0 * rng.random()
        grating = np.sin(2 * np.pi * freq * (xx * np.cos(theta) + yy * np.sin(theta)))
        colour = 0.5 * rng.standard_normal((3, 1, 1))
        out[k] = grating + colour + 0.2 * rng.standard_normal((3, image, image))
    return out, labels


def fit_head(model: ViT, image: int, samples: int = 200, seed: int = 0) -> float:
    """A linear probe instead of training (training at 240x240 takes too long for an
    example): the class head is the ridge-regression fit of one-hot targets on the model's
    own (seeded, untrained) features of pattern_images. The model then answers differently
    for different inputs, so a top-1 comparison means something. Returns the probe's
    accuracy on held-out images of the same kinds."""
    head = model.head
    classes = head.out_features
    xs, ys = pattern_images(samples, image, classes, seed)
    model.head = nn.Identity()
    with torch.no_grad():
        f = torch.cat([model(c) for c in torch.from_numpy(xs).split(16)])
    model.head = head
    f1 = torch.cat([f, torch.ones(len(f), 1)], dim=1).double()
    target = torch.nn.functional.one_hot(torch.from_numpy(ys), classes).double() * 4.0 - 2.0
    # the ridge, relative to the features' energy: larger leans on the large feature
    # directions (which int8 rounding does not move), smaller fits the samples better
    gram = f1.T @ f1
    ridge = RIDGE * torch.trace(gram) / gram.shape[0]
    w = torch.linalg.solve(gram + ridge * torch.eye(gram.shape[0], dtype=torch.float64), f1.T @ target)
    with torch.no_grad():
        head.weight.copy_(w[:-1].T.float())
        head.bias.copy_(w[-1].float())
        hx, hy = pattern_images(40, image, classes, seed + 1)
        return float((model(torch.from_numpy(hx)).argmax(1).numpy() == hy).mean())


def low_rank(rank: int) -> LinearFactory:
    def make(in_features: int, out_features: int) -> nn.Module:
        # The first factor has no bias: a bias there would fold into the second one's anyway.
        return nn.Sequential(nn.Linear(in_features, rank, bias=False), nn.Linear(rank, out_features))

    return make


def param_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def int8_input(path: Path) -> None:
    """Rewrite a QDQ file in place so its float input's QuantizeLinear is gone: the model
    takes the int8 tensor that QuantizeLinear made, under the input's name."""
    import onnx

    m = onnx.load(str(path))
    (inp,) = [i for i in m.graph.input if i.name not in {t.name for t in m.graph.initializer}]
    (q,) = [n for n in m.graph.node if n.op_type == "QuantizeLinear" and n.input[0] == inp.name]
    if any(inp.name in n.input for n in m.graph.node if n is not q):
        raise SystemExit(f"{path}: the float input has readers besides its QuantizeLinear")
    for n in m.graph.node:
        for k, x in enumerate(n.input):
            if x == q.output[0]:
                n.input[k] = inp.name
    m.graph.node.remove(q)
    inp.type.tensor_type.elem_type = onnx.TensorProto.INT8
    onnx.checker.check_model(m)
    onnx.save(m, str(path))


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
    p.add_argument("--config", choices=sorted(CONFIGS), help="a named configuration (overrides the sizes)")
    p.add_argument("--int8", type=Path, help="also write this QDQ int8 file with an int8 input")
    args = p.parse_args()
    args.probe = False
    for k, v in CONFIGS.get(args.config, {}).items():
        setattr(args, k, v)

    torch.manual_seed(0)
    model = ViT(args.image, args.patch, args.embed, args.depth, args.heads, linear=low_rank(args.rank)).eval()
    # The same shape with dense projections, only to show what the factorization saves.
    dense_params = param_count(ViT(args.image, args.patch, args.embed, args.depth, args.heads))
    params = param_count(model)
    if args.probe:
        print(f"class head fitted on seeded gratings (linear probe): held-out accuracy {fit_head(model, args.image):.2f}")
    print(f"parameters: {params} ({params * 4} FP32 weight bytes); dense equivalent: {dense_params}")
    export_and_check(model, args.image, args.out, args.opset, dynamo=False, check=args.check)
    if args.int8:
        from toolchain.quantize import quantize_file  # what `mcuforge quantize` runs

        quantize_file(args.out, args.int8, calib_random=8, seed=0)
        int8_input(args.int8)
        print(f"wrote {args.int8} ({args.int8.stat().st_size} bytes, QDQ int8, int8 input)")


if __name__ == "__main__":
    main()
