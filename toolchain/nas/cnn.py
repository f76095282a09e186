"""Weight-sharing MCUNet-like CNN supernet and the static sub-networks it exports.

Stem conv 3x3 -> stages of inverted-residual blocks (1x1 expand, depthwise k x k, 1x1
project, BatchNorm after each, ReLU6 after the first two) -> global average pool -> linear.
A sub-network takes the first channels of every weight (width, expansion), the centre of the
largest depthwise kernel (kernel size, as in Once-for-All) and the first blocks of each stage.

BatchNorm statistics are shared and polluted by the sandwich rule's mixed sub-networks, so a
sub-network is always evaluated after ``recalibrate_bn`` (fresh statistics from a few training
batches) - the standard fix from OFA/BigNAS. ``extract`` copies the recalibrated statistics.
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


def _conv(w: torch.Tensor, stride: int = 1, groups: int = 1) -> nn.Conv2d:
    k = w.shape[-1]
    conv = nn.Conv2d(w.shape[1] * groups, w.shape[0], k, stride, k // 2, groups=groups, bias=False)
    conv.weight.data = w.detach().clone()
    return conv


def _crop(w: torch.Tensor, k: int) -> torch.Tensor:
    off = (w.shape[-1] - k) // 2
    return w[..., off:off + k, off:off + k]


class SuperMBBlock(nn.Module):
    def __init__(self, cin: int, cout: int, max_exp: int, max_k: int, stride: int) -> None:
        super().__init__()
        hid = cin * max_exp
        self.stride = stride
        self.expand = nn.Parameter(nn.init.kaiming_normal_(torch.empty(hid, cin, 1, 1)))
        self.bn1 = SlicedBN(hid)
        self.dw = nn.Parameter(nn.init.kaiming_normal_(torch.empty(hid, 1, max_k, max_k)))
        self.bn2 = SlicedBN(hid)
        self.project = nn.Parameter(nn.init.kaiming_normal_(torch.empty(cout, hid, 1, 1)))
        self.bn3 = SlicedBN(cout)

    def weights(self, cin: int, cout: int, exp: int, k: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        hid = cin * exp
        return self.expand[:hid, :cin], _crop(self.dw[:hid], k), self.project[:cout, :hid]

    def forward(self, x: torch.Tensor, cout: int, exp: int, k: int) -> torch.Tensor:
        cin = x.shape[1]
        we, wd, wp = self.weights(cin, cout, exp, k)
        h = F.relu6(self.bn1(F.conv2d(x, we)))
        h = F.relu6(self.bn2(F.conv2d(h, wd, stride=self.stride, padding=k // 2, groups=wd.shape[0])))
        h = self.bn3(F.conv2d(h, wp))
        return x + h if self.stride == 1 and cin == cout else h

    def extract(self, cin: int, cout: int, exp: int, k: int) -> "StaticMBBlock":
        we, wd, wp = self.weights(cin, cout, exp, k)
        hid = we.shape[0]
        return StaticMBBlock(
            _conv(we), self.bn1.extract(hid),
            _conv(wd, self.stride, groups=hid), self.bn2.extract(hid),
            _conv(wp), self.bn3.extract(cout),
            residual=self.stride == 1 and cin == cout)


class CNNSupernet(nn.Module):
    def __init__(self, space: CNNSpace) -> None:
        super().__init__()
        self.space = space
        stem, stages = space.channels_of(space.largest())
        self.stem = nn.Parameter(nn.init.kaiming_normal_(torch.empty(stem, space.channels, 3, 3)))
        self.stem_bn = SlicedBN(stem)
        blocks, cin = [], stem
        for s, cout in enumerate(stages):
            for i in range(space.max_depth):
                stride = space.stage_strides[s] if i == 0 else 1
                blocks.append(SuperMBBlock(cin, cout, max(space.expansions), max(space.kernels), stride))
                cin = cout
        self.blocks = nn.ModuleList(blocks)
        self.head = nn.Linear(cin, space.classes)

    def _plan(self, c: CNNConfig):
        """(slot, cin, cout, expansion, kernel) of each active block, in order."""
        stem, stages = self.space.channels_of(c)
        cin = stem
        for s, cout in enumerate(stages):
            for i in range(c.depths[s]):
                slot = s * self.space.max_depth + i
                yield slot, cin, cout, c.expansions[slot], c.kernels[slot]
                cin = cout

    def forward(self, x: torch.Tensor, c: CNNConfig) -> torch.Tensor:
        stem, _ = self.space.channels_of(c)
        x = F.relu6(self.stem_bn(F.conv2d(x, self.stem[:stem], padding=1)))
        for slot, _, cout, exp, k in self._plan(c):
            x = self.blocks[slot](x, cout, exp, k)
        return F.linear(x.mean(dim=(2, 3)), self.head.weight[:, :x.shape[1]], self.head.bias)

    @torch.no_grad()
    def extract(self, c: CNNConfig) -> "StaticCNN":
        stem, _ = self.space.channels_of(c)
        blocks = [self.blocks[slot].extract(cin, cout, exp, k) for slot, cin, cout, exp, k in self._plan(c)]
        last = blocks[-1].project.out_channels
        head = nn.Linear(last, self.space.classes)
        head.weight.data = self.head.weight[:, :last].clone()
        head.bias.data = self.head.bias.clone()
        return StaticCNN(_conv(self.stem[:stem]), self.stem_bn.extract(stem),
                         blocks, head)


class StaticMBBlock(nn.Module):
    def __init__(self, expand: nn.Conv2d, bn1: nn.Module, dw: nn.Conv2d, bn2: nn.Module, project: nn.Conv2d,
                 bn3: nn.Module, residual: bool) -> None:
        super().__init__()
        self.expand, self.bn1, self.dw, self.bn2, self.project, self.bn3 = expand, bn1, dw, bn2, project, bn3
        self.residual = residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu6(self.bn1(self.expand(x)))
        h = F.relu6(self.bn2(self.dw(h)))
        h = self.bn3(self.project(h))
        return x + h if self.residual else h


class StaticCNN(nn.Module):
    def __init__(self, stem: nn.Conv2d, stem_bn: nn.Module, blocks: list[StaticMBBlock], head: nn.Linear) -> None:
        super().__init__()
        self.stem, self.stem_bn = stem, stem_bn
        self.blocks = nn.Sequential(*blocks)
        self.head = head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.blocks(F.relu6(self.stem_bn(self.stem(x))))
        return self.head(x.mean(dim=(2, 3)))


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
