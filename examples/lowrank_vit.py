"""MCUFormer-style low-rank Vision Transformer and its ONNX export.

Every projection in attention (q, k, v, proj) and in the MLP (fc1, fc2) becomes a chain
in -> rank -> out: a bias-free Linear then a biased one. That cuts weights from in*out to
rank*(in + out), which is what lets a 112x112 ViT fit a microcontroller's flash. The blocks
are those of vit_tiny.py; only the Linear factory changes.

Run with no arguments to regenerate the committed lowrank_vit_112.onnx (legacy exporter,
opset 17, so LayerNormalization is one op and GELU is the Erf formula).

`--config mcuformer240 --digits --int8 lowrank_vit_240_int8.onnx` makes the committed
integer-only model of issue 15, near MCUFormer's deployment: 3x240x240 input, patch 16 (225
tokens + class token), embedding 128, depth 4, 2 heads, rank 32 in every attention and MLP
projection, trained on scikit-learn's digits (bundled in its wheel) resized to 240x240: 1,000
AdamW steps of 16 images, seeded, on one PyTorch thread (~8 CPU-minutes; `--weights` keeps the
trained state to skip it next time). It is exported at opset 20 (LayerNormalization and Gelu
are single ops), quantized as `mcuforge quantize` does (onnxruntime's quantize_static, every
op QDQ, calibrated on 64 training digits), and its input QuantizeLinear is removed so the file
takes the int8 image (172,800 B instead of 691,200 B of float), as int8 TFLite models
converted by tf2onnx do. Two heads, not four: the op-by-op int8 attention holds all heads'
226x226 scores at once.

Without `--digits` the same configuration keeps seeded weights and fits only the class head,
in closed form, on synthetic gratings (seconds instead of minutes; what the file was before).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from torch import nn

from vit_tiny import HERE, LinearFactory, ViT, export_and_check

RIDGE = 0.01  # relative to the mean feature energy; int8 rounding then flips only near-ties (docs/int8_vit.md)
# --digits (docs/int8_vit.md, "Trained on the digits"): ~11 epochs of small AdamW steps
TRAIN_STEPS, TRAIN_BATCH, TRAIN_LR = 1000, 16, 1e-3
EVAL_EVERY = 200
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
    """Trains every weight on the digits at image x image: AdamW, linear warm-up then cosine
    decay, gradients clipped to norm 1, batches drawn from seeded permutations of the 1,437
    training images (TRAIN_STEPS x TRAIN_BATCH: ~11 epochs). Small batches, because a step's
    cost is per image and a ViT leaves its first plateau (loss at chance while the class
    token learns where to look) after a number of updates, not of images: at 32 images a step
    the loss only left chance after ~130 steps. The images are resized once (1,437 x 240 x 240
    grey, 330 MB) and copied to 3 channels as a view. Prints the loss and, every EVAL_EVERY
    steps, the accuracy on 120 held-out images (monitoring only: nothing is chosen by it)."""
    from toolchain.nas.data import load_digits, resize

    sincos_positions(model, image // patch)
    s = load_digits(0).train_val
    xs, ys = torch.from_numpy(resize(s.x, image) * 4.0 - 2.0), torch.from_numpy(s.y)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=TRAIN_LR, weight_decay=0.05)
    warm = max(1, steps // 16)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda k: (k + 1) / warm if k < warm else 0.5 * (1 + np.cos(np.pi * (k - warm) / (steps - warm))))
    order = torch.cat([torch.randperm(len(ys), generator=gen) for _ in range(steps * batch // len(ys) + 1)])
    probe_x, probe_y = digits("test", image, 0, 120)
    for k in range(steps):
        model.train()
        idx = order[k * batch:(k + 1) * batch]
        loss = nn.functional.cross_entropy(model(xs[idx].expand(-1, 3, -1, -1)), ys[idx])
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if k % 50 == 0 or k == steps - 1:
            print(f"  step {k + 1}/{steps}: loss {loss.item():.3f}", flush=True)
        if (k + 1) % EVAL_EVERY == 0 or k == steps - 1:
            model.eval()
            with torch.no_grad():
                right = sum(int((model(torch.from_numpy(c)).argmax(1).numpy() == y).sum())
                            for c, y in zip(np.split(probe_x, 3), np.split(probe_y, 3)))
            print(f"  step {k + 1}: {right} of 120 held-out digits right", flush=True)
    model.eval()


def margins(predict, image: int, batch: int = 40) -> tuple[float, float]:  # noqa: ANN001 - images -> logits
    """Held-out accuracy of predict and the median top-1 minus top-2 logit margin."""
    right, gaps = 0, []
    for k in range(0, 360, batch):
        x, y = digits("test", image, k, batch)
        logits = np.asarray(predict(x))
        right += int((logits.argmax(1) == y).sum())
        top2 = np.sort(logits, axis=1)[:, -2:]
        gaps += list(top2[:, 1] - top2[:, 0])
    return right / 360, float(np.median(gaps))


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
                   "size instead of the linear probe on gratings (the committed 240x240 int8 file)")
    p.add_argument("--steps", type=int, default=TRAIN_STEPS, help="--digits: training steps")
    p.add_argument("--threads", type=int, default=1, help="--digits: PyTorch threads while training")
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
        torch.set_num_threads(args.threads)  # a shared machine: one core trains as fast per core
        print(f"training on the digits at {args.image}x{args.image}: {args.steps} steps of {TRAIN_BATCH} images")
        train_digits(model, args.image, args.patch, args.steps)
        if args.weights:
            torch.save(model.state_dict(), args.weights)
    if args.digits:
        with torch.no_grad():
            acc, gap = margins(lambda x: model(torch.from_numpy(x)).numpy(), args.image)
        print(f"held-out accuracy (PyTorch, float): {acc:.4f} of 360 digits; median top-1 margin {gap:.2f}")
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
