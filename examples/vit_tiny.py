"""A small, readable Vision Transformer and its ONNX export.

The model is written out op by op (no timm, no nn.MultiheadAttention) so the exported graph
shows the operators the compiler must lower: Conv patch embedding, LayerNorm, MatMul/Softmax
attention, exact (erf) GELU. Weights come from torch.manual_seed(0); no training is needed to
test a compiler.

Run with no arguments to regenerate the two committed files:
  vit_tiny_opset13.onnx  legacy TorchScript exporter (LayerNorm and GELU decomposed)
  vit_tiny_opset18.onnx  dynamo exporter (LayerNormalization kept as one op)
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from torch import nn

# Builds the module that maps in_features -> out_features; swapping it (dense, low-rank, ...)
# changes every projection in the model without touching the block code.
LinearFactory = Callable[[int, int], nn.Module]

HERE = Path(__file__).resolve().parent
CHECK_TOL = 1e-5


def dense(in_features: int, out_features: int) -> nn.Module:
    return nn.Linear(in_features, out_features)


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int, linear: LinearFactory = dense) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"embed dim {dim} is not divisible by {heads} heads")
        self.heads = heads
        self.head_dim = dim // heads
        self.scale = self.head_dim**-0.5
        self.q = linear(dim, dim)
        self.k = linear(dim, dim)
        self.v = linear(dim, dim)
        self.proj = linear(dim, dim)

    def split_heads(self, x: torch.Tensor) -> torch.Tensor:
        # (B, N, C) -> (B, H, N, D)
        b, n, _ = x.shape
        return x.reshape(b, n, self.heads, self.head_dim).transpose(1, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        q, k, v = self.split_heads(self.q(x)), self.split_heads(self.k(x)), self.split_heads(self.v(x))
        attn = torch.softmax(q @ k.transpose(-2, -1) * self.scale, dim=-1)
        out = (attn @ v).transpose(1, 2).reshape(b, n, c)
        return self.proj(out)


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int, linear: LinearFactory = dense) -> None:
        super().__init__()
        self.fc1 = linear(dim, hidden)
        self.act = nn.GELU()  # approximate="none": exported as the Erf formula, as in ViT
        self.fc2 = linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    """Pre-norm transformer block: x + attn(ln(x)), then x + mlp(ln(x))."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float, linear: LinearFactory = dense) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads, linear)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), linear)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class ViT(nn.Module):
    def __init__(
        self,
        image: int = 32,
        patch: int = 8,
        embed: int = 64,
        depth: int = 2,
        heads: int = 4,
        mlp_ratio: float = 2.0,
        classes: int = 10,
        channels: int = 3,
        linear: LinearFactory = dense,
    ) -> None:
        super().__init__()
        if image % patch:
            raise ValueError(f"image size {image} is not a multiple of patch size {patch}")
        tokens = (image // patch) ** 2 + 1  # patches + class token
        self.patch_embed = nn.Conv2d(channels, embed, kernel_size=patch, stride=patch)
        self.cls_token = nn.Parameter(torch.empty(1, 1, embed))
        self.pos_embed = nn.Parameter(torch.empty(1, tokens, embed))
        # Non-zero so the adds are not folded away and the check exercises them.
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        self.blocks = nn.Sequential(*(Block(embed, heads, mlp_ratio, linear) for _ in range(depth)))
        self.norm = nn.LayerNorm(embed)
        self.head = nn.Linear(embed, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch_embed(x).flatten(2).transpose(1, 2)  # (B, C, h, w) -> (B, h*w, C)
        cls = self.cls_token.expand(x.shape[0], -1, -1)
        x = torch.cat([cls, x], dim=1) + self.pos_embed
        x = self.norm(self.blocks(x))
        return self.head(x[:, 0])


def export_onnx(model: nn.Module, image: int, out: Path, opset: int, dynamo: bool) -> None:
    """Export with a symbolic batch dimension named "batch"."""
    # Batch 2, not 1: torch.export specializes dimensions of size 1 to constants.
    example = (torch.randn(2, 3, image, image),)
    common = dict(input_names=["input"], output_names=["logits"], opset_version=opset)
    if dynamo:
        batch = torch.export.Dim("batch")
        torch.onnx.export(
            model, example, str(out), dynamo=True, dynamic_shapes={"x": {0: batch}},
            external_data=False, **common,
        )
    else:
        torch.onnx.export(
            model, example, str(out), dynamo=False,
            dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, **common,
        )


def check_onnx(model: nn.Module, path: Path, image: int, seed: int = 0) -> float:
    """Run onnxruntime and PyTorch on seeded inputs; return the max abs difference."""
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    gen = torch.Generator().manual_seed(seed)
    worst = 0.0
    for batch in (1, 3):  # 1 is the deployment case, 3 shows the batch dim stayed symbolic
        x = torch.randn(batch, 3, image, image, generator=gen)
        with torch.no_grad():
            want = model(x).numpy()
        (got,) = sess.run(None, {sess.get_inputs()[0].name: x.numpy()})
        worst = max(worst, float(np.abs(got - want).max()))
    return worst


def describe(path: Path) -> str:
    m = onnx.load(str(path))
    opsets = {o.domain or "ai.onnx": o.version for o in m.opset_import}
    ops = Counter(n.op_type for n in m.graph.node)
    return f"{path.name}: {path.stat().st_size} bytes, opset {opsets}\n  ops {dict(sorted(ops.items()))}"


def export_and_check(model: nn.Module, image: int, out: Path, opset: int, dynamo: bool, check: bool) -> None:
    export_onnx(model, image, out, opset, dynamo)
    onnx.checker.check_model(str(out), full_check=True)
    print(describe(out))
    if check:
        diff = check_onnx(model, out, image)
        print(f"  onnxruntime vs PyTorch max abs diff: {diff:.3g}")
        if diff > CHECK_TOL:
            raise SystemExit(f"{out.name}: max abs diff {diff:.3g} > {CHECK_TOL}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, help="write one file (default: both committed files)")
    p.add_argument("--opset", type=int, default=13, help="opset for --out (default 13)")
    p.add_argument("--dynamo", action="store_true", help="use the dynamo exporter for --out")
    p.add_argument("--embed", type=int, default=64)
    p.add_argument("--depth", type=int, default=2)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--patch", type=int, default=8)
    p.add_argument("--image", type=int, default=32)
    p.add_argument("--check", action="store_true", help="compare onnxruntime with PyTorch")
    args = p.parse_args()

    torch.manual_seed(0)
    model = ViT(args.image, args.patch, args.embed, args.depth, args.heads).eval()
    if args.out:
        jobs = [(args.out, args.opset, args.dynamo)]
    else:
        jobs = [(HERE / "vit_tiny_opset13.onnx", 13, False), (HERE / "vit_tiny_opset18.onnx", 18, True)]
    for out, opset, dynamo in jobs:
        export_and_check(model, args.image, out, opset, dynamo, args.check)


if __name__ == "__main__":
    main()
