"""Weight-sharing MCUNet-like CNN supernet and the static sub-networks it exports.

Stem conv 3x3 -> stages (a 2x2 max-pool first where the stage's stride is 2) of blocks ->
global average pool -> linear. A block slot holds the weights of both block types: a plain
k x k conv (conv, BN, ReLU) and an inverted residual (1x1 expand, depthwise k x k, 1x1
project, BN after each, ReLU after the first two). A sub-network takes the first channels of
every weight (width, expansion), the centre of the largest kernel (kernel size, as in
Once-for-All) and the first blocks of each stage.

BatchNorm statistics are shared and polluted by the sandwich rule's mixed sub-networks, so a
sub-network is always evaluated after ``recalibrate_bn`` (fresh statistics from a few training
batches) - the standard fix from OFA/BigNAS. ``extract`` copies the recalibrated statistics.
ReLU rather than ReLU6: the hand-designed CNN uses it, and the space must contain that model.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from toolchain.nas.space import CNNConfig, CNNSpace


class SlicedBN(nn.BatchNorm2d):
    """BatchNorm over the first C channels of the largest one."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = x.shape[1]
        use_batch = self.training or self.running_mean is None
        # momentum None = cumulative average: what recalibration needs, exact over its batches
        if self.training and self.momentum is None:
            self.num_batches_tracked.add_(1)
            m = 1.0 / float(self.num_batches_tracked)
        else:
            m = 0.0 if self.momentum is None else self.momentum
        return F.batch_norm(x, self.running_mean[:c], self.running_var[:c], self.weight[:c], self.bias[:c],
                            use_batch, m, self.eps)

    def extract(self, c: int) -> nn.BatchNorm2d:
        bn = nn.BatchNorm2d(c, eps=self.eps)
        bn.weight.data = self.weight[:c].detach().clone()
        bn.bias.data = self.bias[:c].detach().clone()
        bn.running_mean.copy_(self.running_mean[:c])
        bn.running_var.copy_(self.running_var[:c])
        return bn


def _conv(w: torch.Tensor, groups: int = 1) -> nn.Conv2d:
    k = w.shape[-1]
    conv = nn.Conv2d(w.shape[1] * groups, w.shape[0], k, 1, k // 2, groups=groups, bias=False)
    conv.weight.data = w.detach().clone()
    return conv


def _crop(w: torch.Tensor, k: int) -> torch.Tensor:
    off = (w.shape[-1] - k) // 2
    return w[..., off:off + k, off:off + k]


def _kaiming(*shape: int) -> nn.Parameter:
    return nn.Parameter(nn.init.kaiming_normal_(torch.empty(*shape), nonlinearity="relu"))


class SuperConvBlock(nn.Module):
    def __init__(self, cin: int, cout: int, max_k: int) -> None:
        super().__init__()
        self.weight = _kaiming(cout, cin, max_k, max_k)
        self.bn = SlicedBN(cout)

    def forward(self, x: torch.Tensor, cout: int, k: int) -> torch.Tensor:
        w = _crop(self.weight[:cout, :x.shape[1]], k)
        return F.relu(self.bn(F.conv2d(x, w, padding=k // 2)))

    def extract(self, cin: int, cout: int, k: int) -> "StaticConvBlock":
        return StaticConvBlock(_conv(_crop(self.weight[:cout, :cin], k)), self.bn.extract(cout))


class SuperMBBlock(nn.Module):
    def __init__(self, cin: int, cout: int, max_exp: int, max_k: int) -> None:
        super().__init__()
        hid = cin * max_exp
        self.expand = _kaiming(hid, cin, 1, 1)
        self.bn1 = SlicedBN(hid)
        self.dw = _kaiming(hid, 1, max_k, max_k)
        self.bn2 = SlicedBN(hid)
        self.project = _kaiming(cout, hid, 1, 1)
        self.bn3 = SlicedBN(cout)
        # Residual blocks start as the identity (zero last BN scale): deep sub-networks train
        # like shallow ones early on, which the smallest and largest of the sandwich both need.
        if cin == cout:
            nn.init.zeros_(self.bn3.weight)

    def weights(self, cin: int, cout: int, exp: int, k: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        hid = cin * exp
        return self.expand[:hid, :cin], _crop(self.dw[:hid], k), self.project[:cout, :hid]

    def forward(self, x: torch.Tensor, cout: int, exp: int, k: int) -> torch.Tensor:
        cin = x.shape[1]
        we, wd, wp = self.weights(cin, cout, exp, k)
        h = F.relu(self.bn1(F.conv2d(x, we)))
        h = F.relu(self.bn2(F.conv2d(h, wd, padding=k // 2, groups=wd.shape[0])))
        h = self.bn3(F.conv2d(h, wp))
        return x + h if cin == cout else h

    def extract(self, cin: int, cout: int, exp: int, k: int) -> "StaticMBBlock":
        we, wd, wp = self.weights(cin, cout, exp, k)
        hid = we.shape[0]
        return StaticMBBlock(_conv(we), self.bn1.extract(hid), _conv(wd, groups=hid), self.bn2.extract(hid),
                             _conv(wp), self.bn3.extract(cout), residual=cin == cout)


class CNNSupernet(nn.Module):
    def __init__(self, space: CNNSpace) -> None:
        super().__init__()
        self.space = space
        stem, stages = space.channels_of(space.largest())  # channels grow with the width
        self.stem = _kaiming(stem, space.channels, 3, 3)
        self.stem_bn = SlicedBN(stem)
        conv, mb, cin = [], [], stem
        for cout in stages:
            for _ in range(space.max_depth):
                conv.append(SuperConvBlock(cin, cout, max(space.kernels)))
                mb.append(SuperMBBlock(cin, cout, max(space.expansions), max(space.kernels)))
                cin = cout
        self.conv_blocks = nn.ModuleList(conv)
        self.mb_blocks = nn.ModuleList(mb)
        self.head = nn.Linear(max(stages + (stem,)), space.classes)

    def _plan(self, c: CNNConfig):
        """Per active stage: (pool first?, [(slot, cin, cout, op, expansion, kernel), ...])."""
        stem, stages = self.space.channels_of(c)
        cin = stem
        for s, cout in enumerate(stages):
            if c.depths[s] == 0:
                continue
            blocks = []
            for i in range(c.depths[s]):
                slot = s * self.space.max_depth + i
                blocks.append((slot, cin, cout, c.ops[slot], c.expansions[slot], c.kernels[slot]))
                cin = cout
            yield self.space.stage_strides[s] == 2, blocks

    def forward(self, x: torch.Tensor, c: CNNConfig) -> torch.Tensor:
        stem, _ = self.space.channels_of(c)
        x = F.relu(self.stem_bn(F.conv2d(x, self.stem[:stem], padding=1)))
        for pool, blocks in self._plan(c):
            x = F.max_pool2d(x, 2) if pool else x
            for slot, _, cout, op, exp, k in blocks:
                x = self.conv_blocks[slot](x, cout, k) if op == "conv" else self.mb_blocks[slot](x, cout, exp, k)
        return F.linear(x.mean(dim=(2, 3)), self.head.weight[:, :x.shape[1]], self.head.bias)

    @torch.no_grad()
    def extract(self, c: CNNConfig) -> "StaticCNN":
        stem, _ = self.space.channels_of(c)
        layers: list[nn.Module] = [_conv(self.stem[:stem]), self.stem_bn.extract(stem), nn.ReLU()]
        last = stem
        for pool, blocks in self._plan(c):
            layers += [nn.MaxPool2d(2)] if pool else []
            for slot, cin, cout, op, exp, k in blocks:
                layers.append(self.conv_blocks[slot].extract(cin, cout, k) if op == "conv"
                              else self.mb_blocks[slot].extract(cin, cout, exp, k))
                last = cout
        head = nn.Linear(last, self.space.classes)
        head.weight.data = self.head.weight[:, :last].clone()
        head.bias.data = self.head.bias.clone()
        return StaticCNN(layers, head)


class StaticConvBlock(nn.Module):
    def __init__(self, conv: nn.Conv2d, bn: nn.Module) -> None:
        super().__init__()
        self.conv, self.bn = conv, bn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)))


class StaticMBBlock(nn.Module):
    def __init__(self, expand: nn.Conv2d, bn1: nn.Module, dw: nn.Conv2d, bn2: nn.Module, project: nn.Conv2d,
                 bn3: nn.Module, residual: bool) -> None:
        super().__init__()
        self.expand, self.bn1, self.dw, self.bn2, self.project, self.bn3 = expand, bn1, dw, bn2, project, bn3
        self.residual = residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.bn1(self.expand(x)))
        h = F.relu(self.bn2(self.dw(h)))
        h = self.bn3(self.project(h))
        return x + h if self.residual else h


class StaticCNN(nn.Module):
    """One sub-network as a plain PyTorch model: what gets fine-tuned and exported to ONNX."""

    def __init__(self, layers: list[nn.Module], head: nn.Linear) -> None:
        super().__init__()
        self.features = nn.Sequential(*layers)
        self.head = head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).mean(dim=(2, 3)))


@torch.no_grad()
def recalibrate_bn(model: nn.Module, run: Callable[[torch.Tensor], object], batches: list[torch.Tensor]) -> None:
    """Fresh BatchNorm statistics for one sub-network: cumulative average over `batches`."""
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    if not bns:
        return
    was_training = model.training
    saved = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
    model.train()
    for x in batches:
        run(x)
    for m, mom in zip(bns, saved):
        m.momentum = mom
    model.train(was_training)
