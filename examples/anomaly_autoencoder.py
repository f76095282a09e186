"""The MLPerf Tiny anomaly-detection autoencoder (ToyADMOS), built in torch and exported.

Dense 640 -> 128 x4 -> 8 -> 128 x4 -> 640, each hidden Dense with BatchNorm and ReLU, as the
reference Keras model. Its float weights (1,063,456 B) do not fit a 1 MB flash; int8 they
take about 266 KB. Weights come from torch.manual_seed (no training: a compiler test).
BatchNorm is folded into its Dense before export, as the TFLite converter does, so the ONNX
is Gemm + Relu that onnxruntime.quantization quantises as it is.

  python examples/anomaly_autoencoder.py out.onnx       # float ONNX
  mcuforge quantize out.onnx -o out.int8.onnx --calib-random 16
  mcuforge run out.int8.onnx --board stm32f746-disco --sim
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from torch import nn

WIDTHS = [640, 128, 128, 128, 128, 8, 128, 128, 128, 128, 640]


def autoencoder(seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(WIDTHS[:-1], WIDTHS[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(WIDTHS) - 2:
            bn = nn.BatchNorm1d(b)
            with torch.no_grad():  # non-trivial statistics, as after training
                bn.running_mean.uniform_(-0.2, 0.2)
                bn.running_var.uniform_(0.5, 1.5)
                bn.weight.uniform_(0.5, 1.5)
                bn.bias.uniform_(-0.1, 0.1)
            layers += [bn, nn.ReLU()]
    return nn.Sequential(*layers).eval()


def fold_batchnorm(model: nn.Sequential) -> nn.Sequential:
    """Linear -> BatchNorm1d pairs become one Linear (inference statistics)."""
    out: list[nn.Module] = []
    mods = list(model)
    i = 0
    while i < len(mods):
        m = mods[i]
        if isinstance(m, nn.Linear) and i + 1 < len(mods) and isinstance(mods[i + 1], nn.BatchNorm1d):
            bn = mods[i + 1]
            s = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            lin = nn.Linear(m.in_features, m.out_features)
            with torch.no_grad():
                lin.weight.copy_(m.weight * s[:, None])
                lin.bias.copy_((m.bias - bn.running_mean) * s + bn.bias)
            out.append(lin)
            i += 2
        else:
            out.append(m)
            i += 1
    return nn.Sequential(*out).eval()


def export(path: str | Path, seed: int = 0) -> Path:
    model = fold_batchnorm(autoencoder(seed))
    path = Path(path)
    torch.onnx.export(model, (torch.zeros(1, WIDTHS[0]),), str(path), input_names=["input"], output_names=["output"],
                      opset_version=17, dynamo=False)
    return path


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", nargs="?", default="anomaly_autoencoder.onnx")
    ap.add_argument("--seed", type=int, default=0)
    print(export(ap.parse_args().out, ap.parse_args().seed))
