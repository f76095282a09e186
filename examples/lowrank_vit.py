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

`--digits` trains the same model on scikit-learn's digits resized to 240x240 instead (a few
AdamW steps, then a closed-form head; `--steps`, `--weights` to keep the trained body). In the
minutes this machine affords, the body barely trains: float accuracy 80% comes from the head
alone, and in int8 the features it relies on drown in rounding (docs/int8_vit.md).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from torch import nn

from vit_tiny import HERE, LinearFactory, ViT, export_and_check

RIDGE = 0.01  # relative to the mean feature energy; int8 rounding then flips only near-ties (docs/int8_vit.md)
# --digits (docs/int8_vit.md, "Training on the digits"): a short training, then a closed-form head
TRAIN_STEPS, TRAIN_BATCH, TRAIN_LR = 40, 8, 1e-3
HEAD_FIT = 1437  # training images whose features the head is refitted on (all of them)
CALIB = 64  # training images that calibrate the int8 scales
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


def digits(split: str, image: int, start: int = 0, count: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled 8x8 digits (no download), split as `mcuforge nas` splits them
    (toolchain/nas/data.py, seed 0: "train" is its train + val, 1,437 images; "test" the 360
    held out), resized bilinearly to image x image, grey copied to 3 channels, 0..16 -> [-2, 2]."""
    from toolchain.nas.data import load_digits, resize

    d = load_digits(0)
    s = d.train_val if split == "train" else d.test
    stop = len(s) if count is None else start + count
    x = resize(s.x[start:stop], image) * 4.0 - 2.0
    return np.ascontiguousarray(np.repeat(x, 3, axis=1)), s.y[start:stop]


def accuracy(predict, image: int, batch: int = 40) -> float:  # noqa: ANN001 - images -> logits
    """Top-1 accuracy of predict over the held-out digits, resized a batch at a time."""
    right = total = 0
    for k in range(0, 360, batch):
        x, y = digits("test", image, k, batch)
        right += int((np.asarray(predict(x)).argmax(1) == y).sum())
        total += len(y)
    return right / total


def sincos_positions(model: ViT, grid: int) -> None:
    """2-D sine-cosine position embeddings (as MAE initialises them), the class token's 0: the
    patches know where they are from the first step, which a short training needs."""
    d = model.pos_embed.shape[-1] // 4
    yy, xx = torch.meshgrid(torch.arange(grid, dtype=torch.float32), torch.arange(grid, dtype=torch.float32),
                            indexing="ij")
    omega = 1.0 / 10000 ** (torch.arange(d, dtype=torch.float32) / d)
    px, py = xx.reshape(-1, 1) * omega, yy.reshape(-1, 1) * omega
    with torch.no_grad():
        model.pos_embed[0, 1:] = torch.cat([px.sin(), px.cos(), py.sin(), py.cos()], dim=1)
        model.pos_embed[0, 0] = 0.0


def train_digits(model: ViT, image: int, patch: int, steps: int = TRAIN_STEPS, batch: int = TRAIN_BATCH,
                 seed: int = 0) -> None:
    """Trains every weight on the digits at image x image for a few steps (AdamW, linear warm-up,
    cosine decay, 320 images: what a shared two-core machine affords in minutes; the loss
    barely moves in that budget, so fit_digits_head does most of the work)."""
    from toolchain.nas.data import load_digits, resize

    sincos_positions(model, image // patch)
    s = load_digits(0).train_val
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=TRAIN_LR, weight_decay=0.05)
    warm = max(1, steps // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda k: (k + 1) / warm if k < warm else 0.5 * (1 + np.cos(np.pi * (k - warm) / (steps - warm))))
    order = torch.cat([torch.randperm(len(s), generator=gen) for _ in range(steps * batch // len(s) + 1)])
    model.train()
    for k in range(steps):
        idx = order[k * batch:(k + 1) * batch].numpy()
        x = torch.from_numpy(resize(s.x[idx], image) * 4.0 - 2.0).expand(-1, 3, -1, -1)
        loss = nn.functional.cross_entropy(model(x), torch.from_numpy(s.y[idx]))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if k % 20 == 0 or k == steps - 1:
            print(f"  step {k + 1}/{steps}: loss {loss.item():.3f}", flush=True)
    model.eval()


def fit_digits_head(model: ViT, image: int) -> float:
    """Refits the class head in closed form: ridge regression of one-hot targets on the model's
    class-token features of HEAD_FIT training images, the ridge being the variance int8
    rounding adds to each feature (s^2 / 12, s the final LayerNorm's int8 step estimated from
    the range of its outputs over all tokens): the head that is best for the features as the
    int8 model will see them, not for the float ones. Returns the held-out accuracy."""
    from toolchain.nas.data import load_digits

    ys = load_digits(0).train_val.y[:HEAD_FIT]
    seen = [0.0, 0.0]

    def span(_m: nn.Module, _i: tuple, out: torch.Tensor) -> None:
        seen[0], seen[1] = min(seen[0], float(out.min())), max(seen[1], float(out.max()))

    hook = model.norm.register_forward_hook(span)
    with torch.no_grad():
        head, model.head = model.head, nn.Identity()
        f = torch.cat([model(torch.from_numpy(digits("train", image, k, 40)[0])) for k in range(0, HEAD_FIT, 40)])
        model.head = head
        hook.remove()
        step = (seen[1] - seen[0]) / 255
        f1 = torch.cat([f, torch.ones(len(f), 1)], dim=1).double()
        target = nn.functional.one_hot(torch.from_numpy(ys), 10).double() * 4.0 - 2.0
        ridge = torch.diag(torch.tensor([len(f) * step**2 / 12] * f.shape[1] + [0.0], dtype=torch.float64))
        w = torch.linalg.solve(f1.T @ f1 + ridge, f1.T @ target)
        head.weight.copy_(w[:-1].T.float())
        head.bias.copy_(w[-1].float())
        return accuracy(lambda x: model(torch.from_numpy(x)).numpy(), image)


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
    p.add_argument("--digits", action="store_true", help="train on scikit-learn's digits resized to the input "
                   "size instead of the linear probe on gratings (not yet usable in int8: docs/int8_vit.md)")
    p.add_argument("--steps", type=int, default=TRAIN_STEPS, help="--digits: training steps")
    p.add_argument("--weights", type=Path, help="--digits: load the trained weights from this file if it exists, "
                   "else train and save them there")
    args = p.parse_args()
    args.probe = False
    for k, v in CONFIGS.get(args.config, {}).items():
        setattr(args, k, v)

    torch.manual_seed(0)
    model = ViT(args.image, args.patch, args.embed, args.depth, args.heads, linear=low_rank(args.rank)).eval()
    # The same shape with dense projections, only to show what the factorization saves.
    dense_params = param_count(ViT(args.image, args.patch, args.embed, args.depth, args.heads))
    params = param_count(model)
    if args.digits and args.weights and args.weights.exists():
        model.load_state_dict(torch.load(args.weights))
        print(f"trained weights from {args.weights}")
    elif args.digits:
        print(f"training on the digits at {args.image}x{args.image}")
        train_digits(model, args.image, args.patch, args.steps)
        if args.weights:
            torch.save(model.state_dict(), args.weights)
    if args.digits:
        print(f"held-out accuracy (PyTorch, float, head refitted): {fit_digits_head(model, args.image):.4f}")
    elif args.probe:
        print(f"class head fitted on seeded gratings (linear probe): held-out accuracy {fit_head(model, args.image):.2f}")
    print(f"parameters: {params} ({params * 4} FP32 weight bytes); dense equivalent: {dense_params}")
    export_and_check(model, args.image, args.out, args.opset, dynamo=False, check=args.check)
    if args.int8:
        import tempfile

        from toolchain.quantize import quantize_file  # what `mcuforge quantize` runs

        with tempfile.TemporaryDirectory() as tmp:
            calib = None
            if args.digits:  # the scales from training images (`mcuforge quantize --calib calib.npz`)
                calib = Path(tmp) / "calib.npz"
                np.savez(calib, input=digits("train", args.image, 0, CALIB)[0])
            quantize_file(args.out, args.int8, calib=calib, calib_random=None if calib else 8, seed=0)
        int8_input(args.int8)
        print(f"wrote {args.int8} ({args.int8.stat().st_size} bytes, QDQ int8, int8 input)")


if __name__ == "__main__":
    main()
