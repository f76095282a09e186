"""The test zoo: ViTs (and one dense autoencoder) built with the libraries people use, exported
the ways people export them, with random weights and MCU-sized configs (32x32x3 input, patch
4, 2 blocks unless a variation says otherwise).

The committed .onnx files are what CI tests; this script only regenerates them and needs
torch, timm (`pip install timm --no-deps`: timm imports torchvision, which does not load beside
torch 2.13.0 CPU, so a stub stands in for it here and nowhere else) and transformers. The
Keras model comes from tensorflow-cpu + tf2onnx when they import (they live in their own
virtualenv: `--tf-python /path/to/python`), otherwise from make_keras_mha.py, which writes
tf2onnx's node pattern with onnx.helper.

  python tests/zoo/make_zoo.py [--only NAME...]

Every export is checked against its framework's own output with onnxruntime before it is
written.
"""

from __future__ import annotations

import argparse
import importlib.abc
import importlib.machinery
import sys
import types
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
TOL = 1e-4


class _AnyAttr(type):
    def __getattr__(cls, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        return f"{cls.__name__}.{name}"  # enum members used as dict keys: unique strings


class _Stub(types.ModuleType):
    """Any attribute is a dummy class: enough for timm's module-level torchvision imports."""

    __path__: list[str] = []

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        return _AnyAttr(name, (), {})


class _StubFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path, target=None):
        if name == "torchvision" or name.startswith("torchvision."):
            return importlib.machinery.ModuleSpec(name, self, is_package=True)
        return None

    def create_module(self, spec):
        return _Stub(spec.name)

    def exec_module(self, module):
        pass


def _import_timm():
    finder = _StubFinder()
    sys.meta_path.insert(0, finder)
    try:
        import timm  # noqa: PLC0415
    finally:  # the stub must not leak into transformers, which probes torchvision's version
        sys.meta_path.remove(finder)
        for k in [k for k in sys.modules if k == "torchvision" or k.startswith("torchvision.")]:
            del sys.modules[k]
    return timm


# ---------------------------------------------------------------- export helpers


def export(model, x, path: Path, dynamo: bool, opset: int, dynamic_batch: bool = True) -> None:
    import onnx
    import onnxruntime as ort
    import torch

    model.eval()
    with torch.no_grad():
        want = model(x)
        want = want.logits if hasattr(want, "logits") else want
        want = want.numpy()
    # Outside no_grad: under it torch.nn's encoder layers take their fused fast path, which
    # neither exporter can write.
    if dynamo:
        prog = torch.onnx.export(model, (x,), dynamo=True, opset_version=opset, input_names=["pixels"],
                                 output_names=["logits"],
                                 dynamic_shapes=({0: torch.export.Dim("batch")},) if dynamic_batch else None)
        prog.optimize()
        prog.save(str(path))
    else:
        torch.onnx.export(model, (x,), str(path), dynamo=False, opset_version=opset, input_names=["pixels"],
                          output_names=["logits"],
                          dynamic_axes={"pixels": {0: "batch"}, "logits": {0: "batch"}} if dynamic_batch else None)
    m = onnx.load(str(path))
    onnx.checker.check_model(m)
    # One file, weights inline: the zoo is about graphs, test_external_data about side files.
    onnx.save_model(m, str(path))
    for extra in path.parent.glob(path.name + ".data"):
        extra.unlink()
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"pixels": x.numpy()})[0]
    err = float(np.abs(got - want).max())
    if err > TOL:
        raise SystemExit(f"{path.name}: onnxruntime differs from the framework by {err}")
    ops = sorted({n.op_type for n in m.graph.node})
    print(f"{path.name:<40} {path.stat().st_size:>8,} B  max err {err:.1e}  ops {' '.join(ops)}")


# ---------------------------------------------------------------- the models


def timm_vit(**kw):
    timm = _import_timm()
    cfg = dict(img_size=32, patch_size=4, in_chans=3, num_classes=10, embed_dim=32, depth=2, num_heads=4,
               mlp_ratio=2.0, qkv_bias=True)
    cfg.update(kw)
    return timm.models.vision_transformer.VisionTransformer(**cfg)


def hf_vit(attn: str = "eager", **kw):
    from transformers import ViTConfig, ViTForImageClassification  # noqa: PLC0415

    cfg = dict(image_size=32, patch_size=4, num_channels=3, hidden_size=32, num_hidden_layers=2,
               num_attention_heads=4, intermediate_size=64, num_labels=10)
    cfg.update(kw)
    config = ViTConfig(**cfg)
    config._attn_implementation = attn
    return ViTForImageClassification(config)


def torch_encoder_vit(heads: int = 4, depth: int = 2, cls: str = "first", norm_first: bool = True,
                      mha: bool = False, mask: bool = False):
    """A ViT on torch.nn.TransformerEncoderLayer (or hand-rolled blocks on nn.MultiheadAttention)."""
    import torch  # noqa: PLC0415
    from torch import nn  # noqa: PLC0415

    dim, grid = 32, 8

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.n1, self.n2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
            self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
            self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))

        def forward(self, x, m):
            h = self.n1(x)
            x = x + self.attn(h, h, h, need_weights=False, attn_mask=m)[0]
            return x + self.mlp(self.n2(x))

    class Vit(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.patch = nn.Conv2d(3, dim, 4, 4)
            n = grid * grid + (cls != "none")
            self.cls = nn.Parameter(torch.randn(1, 1, dim) * 0.02)
            self.pos = nn.Parameter(torch.randn(1, n, dim) * 0.02)
            if mha:
                self.blocks = nn.ModuleList(Block() for _ in range(depth))
            else:
                layer = nn.TransformerEncoderLayer(dim, heads, 2 * dim, dropout=0.0, activation="gelu",
                                                   batch_first=True, norm_first=norm_first)
                self.enc = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
            # A constant additive mask on the scores (a local-window bias), as people add them.
            idx = torch.arange(n)
            self.register_buffer("mask", -1.0 * (idx[:, None] - idx[None, :]).abs().float() / n)
            self.norm = nn.LayerNorm(dim)
            self.head = nn.Linear(dim, 10)

        def forward(self, x):
            t = self.patch(x).flatten(2).transpose(1, 2)
            b = t.shape[0]
            if cls == "first":
                t = torch.cat([self.cls.expand(b, -1, -1), t], 1)
            elif cls == "last":
                t = torch.cat([t, self.cls.expand(b, -1, -1)], 1)
            t = t + self.pos
            m = self.mask if mask else None
            if mha:
                for blk in self.blocks:
                    t = blk(t, m)
            else:
                t = self.enc(t, mask=m)
            t = self.norm(t)
            t = t[:, 0] if cls == "first" else t[:, -1] if cls == "last" else t.mean(1)
            return self.head(t)

    return Vit()


def einsum_vit(heads: int = 4, depth: int = 2):
    """A hand-written ViT whose attention is torch.einsum (Einsum nodes in the ONNX file)."""
    import torch  # noqa: PLC0415
    from torch import nn  # noqa: PLC0415

    dim = 32

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.n1, self.n2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
            self.qkv, self.proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
            self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))

        def forward(self, x):
            b, n, _ = x.shape
            q, k, v = self.qkv(self.n1(x)).reshape(b, n, 3, heads, dim // heads).unbind(2)
            s = torch.einsum("bnhd,bmhd->bhnm", q, k) * (dim // heads) ** -0.5
            o = torch.einsum("bhnm,bmhd->bnhd", s.softmax(-1), v).reshape(b, n, dim)
            x = x + self.proj(o)
            return x + self.mlp(self.n2(x))

    class Vit(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.patch = nn.Conv2d(3, dim, 4, 4)
            self.pos = nn.Parameter(torch.randn(1, 64, dim) * 0.02)
            self.blocks = nn.Sequential(*[Block() for _ in range(depth)])
            self.head = nn.Linear(dim, 10)

        def forward(self, x):
            t = self.patch(x).flatten(2).transpose(1, 2) + self.pos
            return self.head(self.blocks(t).mean(1))

    return Vit()


def autoencoder():
    """MLPerf Tiny anomaly detection (float): Dense 640->128x4->8->128x4->640 with BN+ReLU."""
    from torch import nn  # noqa: PLC0415

    dims = [640, 128, 128, 128, 128, 8, 128, 128, 128, 128]
    layers = []
    for a, b in zip(dims, dims[1:]):
        layers += [nn.Linear(a, b), nn.BatchNorm1d(b), nn.ReLU()]
    layers.append(nn.Linear(128, 640))
    model = nn.Sequential(*layers)
    for m in model:
        if isinstance(m, nn.BatchNorm1d):  # non-trivial running statistics, as after training
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    return model


ZOO = {
    # timm: fused qkv Linear, reshape + permute + unbind, F.scaled_dot_product_attention
    "timm_vit_legacy": (lambda: timm_vit(), False, 17),
    "timm_vit_dynamo": (lambda: timm_vit(), True, 18),
    "timm_vit_avgpool_noqkvbias_h2": (lambda: timm_vit(class_token=False, global_pool="avg", qkv_bias=False,
                                                       num_heads=2), False, 17),
    "timm_vit_depth3_h8_dynamo": (lambda: timm_vit(depth=3, num_heads=8), True, 18),
    "timm_vit_opset23": (lambda: timm_vit(), True, 23),
    # Hugging Face: three separate Linears, view + transpose per head
    "hf_vit_eager": (lambda: hf_vit("eager"), False, 17),
    "hf_vit_sdpa_dynamo": (lambda: hf_vit("sdpa"), True, 18),
    "hf_vit_h2_depth1": (lambda: hf_vit("eager", num_attention_heads=2, num_hidden_layers=1), False, 14),
    # torch.nn: in_proj + chunk / split inside MultiheadAttention
    "torch_encoder_legacy": (lambda: torch_encoder_vit(), False, 17),
    "torch_encoder_dynamo": (lambda: torch_encoder_vit(), True, 18),
    "torch_encoder_postnorm_clslast": (lambda: torch_encoder_vit(norm_first=False, cls="last", heads=2), False, 17),
    "torch_mha_legacy": (lambda: torch_encoder_vit(mha=True, cls="none"), False, 17),
    "torch_mha_mask_dynamo": (lambda: torch_encoder_vit(mha=True, mask=True), True, 18),
    "torch_mha_mask_legacy": (lambda: torch_encoder_vit(mha=True, mask=True), False, 17),
    "torch_einsum_legacy": (lambda: einsum_vit(), False, 17),
    "ad_autoencoder": (autoencoder, False, 17),
}


def main() -> None:
    import torch  # noqa: PLC0415

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", default=None)
    args = ap.parse_args()
    for name, (build, dynamo, opset) in ZOO.items():
        if args.only and name not in args.only:
            continue
        torch.manual_seed(0)
        model = build()
        x = torch.randn(1, 640) if name == "ad_autoencoder" else torch.randn(1, 3, 32, 32)
        export(model, x, HERE / f"{name}.onnx", dynamo, opset)


if __name__ == "__main__":
    main()
