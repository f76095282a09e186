"""MobileNetV1-0.25 at 96x96, the MLPerf Tiny Visual Wake Words model, and its ONNX export.

Built the way the MLPerf Tiny reference (training/visual_wake_words/vww_model.py, Keras) is:
a 3x3 stride-2 conv with 8 filters, then 13 depthwise-separable blocks (3x3 depthwise, BN,
ReLU, 1x1 pointwise, BN, ReLU) with 64, 128, 128, 256, 256, 6 x 512, 1024, 1024 filters times
alpha = 0.25 and strides 1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1, then global average pooling and
a 2-way dense layer with softmax. Keras' padding="same" pads a stride-2 window on an even input
by 0 before and 1 after; PyTorch has no asymmetric conv padding, so the PyTorch model pads
explicitly and the exported stride-2 Convs get pads [0, 0, 1, 1], the graph a tf2onnx export
of the Keras model has. --check compares onnxruntime with the PyTorch model.

Weights and BatchNorm statistics come from torch.manual_seed(0) (untrained: the compiler is
what is tested); the exporter folds BatchNorm into the convolutions.

  python examples/vww_mobilenet.py [--check]     # writes vww_mobilenet_v1_025.onnx
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import onnx
import torch
from torch import nn

HERE = Path(__file__).resolve().parent
OUT = HERE / "vww_mobilenet_v1_025.onnx"
ALPHA = 0.25
BLOCKS = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 + [(1024, 2), (1024, 1)]


class SameConv(nn.Conv2d):
    """A conv with Keras "same" padding: symmetric (1) for 3x3 at stride 1; at stride 2 on the
    even sizes here 0 before and 1 after, which PyTorch's Conv2d cannot express, so forward pads
    explicitly. With keras = False the conv pads symmetrically, which is what torch.onnx exports;
    export() then writes the Keras pads into those Convs."""

    keras = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kernel_size == (1, 1):
            return super().forward(x)
        if self.stride == (2, 2) and SameConv.keras:
            return nn.functional.conv2d(nn.functional.pad(x, (0, 1, 0, 1)), self.weight, self.bias, 2, 0, 1, self.groups)
        return nn.functional.conv2d(x, self.weight, self.bias, self.stride, 1, 1, self.groups)


def conv_bn(c_in: int, c_out: int, k: int, stride: int, groups: int = 1) -> list[nn.Module]:
    return [SameConv(c_in, c_out, k, stride, 0, groups=groups, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]


def mobilenet_v1(alpha: float = ALPHA, classes: int = 2) -> nn.Sequential:
    layers: list[nn.Module] = conv_bn(3, int(32 * alpha), 3, 2)
    c = int(32 * alpha)
    for filters, stride in BLOCKS:
        f = int(filters * alpha)
        layers += conv_bn(c, c, 3, stride, groups=c) + conv_bn(c, f, 1, 1)
        c = f
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, classes), nn.Softmax(dim=1)]
    return nn.Sequential(*layers)


def keras_pads(model: onnx.ModelProto) -> onnx.ModelProto:
    """Stride-2 3x3 Convs get Keras' "same" pads on even inputs: [top, left, bottom, right] =
    [0, 0, 1, 1]."""
    for n in model.graph.node:
        attrs = {a.name: a for a in n.attribute}
        if n.op_type == "Conv" and list(attrs["strides"].ints) == [2, 2] and list(attrs["kernel_shape"].ints) == [3, 3]:
            n.attribute.remove(attrs["pads"])
            n.attribute.append(onnx.helper.make_attribute("pads", [0, 0, 1, 1]))
    return model


def build() -> nn.Sequential:
    """Seeded weights; BatchNorm statistics measured on seeded random images (as a calibration
    pass would), so that every layer's activations stay alive and the output depends on the
    input; then a random affine BatchNorm part, so folding is not the identity."""
    torch.manual_seed(0)
    model = mobilenet_v1()
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.momentum = None  # cumulative average over the calibration batches
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.1, 0.3)
    model.train()
    with torch.no_grad():
        for _ in range(4):
            model(torch.rand(16, 3, 96, 96) * 2.0 - 1.0)
    return model.eval()


def export(path: Path = OUT) -> onnx.ModelProto:
    model = build()
    SameConv.keras = False
    try:
        torch.onnx.export(model, (torch.randn(1, 3, 96, 96),), str(path), input_names=["input"],
                          output_names=["probs"], dynamic_axes={"input": {0: "batch"}, "probs": {0: "batch"}},
                          opset_version=13, dynamo=False)
    finally:
        SameConv.keras = True
    m = keras_pads(onnx.load(str(path)))
    onnx.checker.check_model(m, full_check=True)
    onnx.save(m, str(path))
    return m


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="compare onnxruntime with PyTorch")
    a = ap.parse_args()
    m = export()
    ops: dict[str, int] = {}
    for n in m.graph.node:
        ops[n.op_type] = ops.get(n.op_type, 0) + 1
    params = sum(int(np.prod(i.dims)) for i in m.graph.initializer)
    print(f"{OUT.name}: {params} parameters, ops {dict(sorted(ops.items()))}")
    if a.check:
        import onnxruntime as ort

        x = torch.randn(2, 3, 96, 96, generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            want = build()(x).numpy()
        got = ort.InferenceSession(str(OUT)).run(None, {"input": x.numpy()})[0]
        err = float(np.max(np.abs(got - want)))
        assert err <= 1e-5, err
        print(f"onnxruntime vs PyTorch (Keras padding): max abs error {err:.2e}")


if __name__ == "__main__":
    main()
