"""Weight-sharing low-rank ViT supernet (MCUFormer) and the static sub-networks it exports.

Every linear of a block is a chain in -> r -> r -> out (``u``, a middle ``s``, ``v``), as in
MCUFormer's code, initialised from the SVD of a dense init so the leading components carry the
most energy: a rank-r sub-network takes the first r components, a narrower width the first
rows/columns. ``"dense"`` is the full rank of the sliced shape, so dense and low-rank share one
set of weights.

``extract(cfg)`` copies a sub-network out into plain ``nn.Linear``/``nn.Conv2d`` modules:
the middle factor is merged into ``v`` (in -> r -> out, two MatMuls), or the chain multiplied
out into one dense matrix where factored would not be smaller (``use_dense``). The extracted
module computes exactly what the supernet computes for that config.

Tokens are averaged before the head (no class token): fewer ops to lower and one buffer less.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from toolchain.nas.space import Rank, ViTConfig, ViTSpace, use_dense


def _rank_used(rank: Rank, d_in: int, d_out: int) -> int:
    full = min(d_in, d_out)
    return full if rank == "dense" else min(int(rank), full)


class LowRankLinear(nn.Module):
    """Supernet linear d_in_max -> R -> R -> d_out_max, R = min(d_in_max, d_out_max)."""

    def __init__(self, d_in: int, d_out: int) -> None:
        super().__init__()
        dense = nn.Linear(d_in, d_out)  # PyTorch's default init, then split by SVD
        u, sv, vh = torch.linalg.svd(dense.weight.detach(), full_matrices=False)
        root = sv.sqrt()
        self.u = nn.Parameter((root[:, None] * vh).contiguous())  # (R, d_in)
        self.s = nn.Parameter(torch.eye(root.numel()))             # (R, R), the middle factor
        self.v = nn.Parameter((u * root[None, :]).contiguous())   # (d_out, R)
        self.bias = nn.Parameter(dense.bias.detach().clone())

    def factors(self, d_in: int, d_out: int, rank: Rank) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        r = _rank_used(rank, d_in, d_out)
        return self.u[:r, :d_in], self.s[:r, :r], self.v[:d_out, :r], self.bias[:d_out]

    def forward(self, x: torch.Tensor, d_out: int, rank: Rank) -> torch.Tensor:
        u, s, v, b = self.factors(x.shape[-1], d_out, rank)
        return F.linear(F.linear(F.linear(x, u), s), v, b)

    def extract(self, d_in: int, d_out: int, rank: Rank) -> nn.Module:
        u, s, v, b = (t.detach().clone() for t in self.factors(d_in, d_out, rank))
        if use_dense(rank, d_in, d_out):
            lin = nn.Linear(d_in, d_out)
            lin.weight.data = v @ s @ u
            lin.bias.data = b
            return lin
        first = nn.Linear(d_in, u.shape[0], bias=False)  # a bias here would fold into the next
        first.weight.data = u
        second = nn.Linear(u.shape[0], d_out)
        second.weight.data = v @ s  # the middle r x r factor merged into its neighbour
        second.bias.data = b
        return nn.Sequential(first, second)


class SuperBlock(nn.Module):
    def __init__(self, embed: int, hidden: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(embed)
        self.q, self.k, self.v, self.proj = (LowRankLinear(embed, embed) for _ in range(4))
        self.norm2 = nn.LayerNorm(embed)
        self.fc1 = LowRankLinear(embed, hidden)
        self.fc2 = LowRankLinear(hidden, embed)

    def forward(self, x: torch.Tensor, c: ViTConfig, rank: Rank) -> torch.Tensor:
        e = c.embed
        h = F.layer_norm(x, (e,), self.norm1.weight[:e], self.norm1.bias[:e])
        q, k, v = (m(h, e, rank) for m in (self.q, self.k, self.v))
        x = x + self.proj(attention(q, k, v, c.heads, c.tokens, e), e, rank)
        h = F.layer_norm(x, (e,), self.norm2.weight[:e], self.norm2.bias[:e])
        return x + self.fc2(F.gelu(self.fc1(h, c.hidden, rank)), e, rank)


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, heads: int, tokens: int, embed: int) -> torch.Tensor:
    # Sizes come in as Python ints, not from q.shape: traced shapes would export as
    # Shape/Gather/Concat chains instead of one constant Reshape target.
    d = embed // heads

    def split(t: torch.Tensor) -> torch.Tensor:  # (B, N, E) -> (B, H, N, D)
        return t.reshape(-1, tokens, heads, d).transpose(1, 2)

    attn = torch.softmax(split(q) @ split(k).transpose(-2, -1) * (1.0 / math.sqrt(d)), dim=-1)
    return (attn @ split(v)).transpose(1, 2).reshape(-1, tokens, embed)


class ViTSupernet(nn.Module):
    def __init__(self, space: ViTSpace) -> None:
        super().__init__()
        self.space = space
        e = max(space.embeds)
        hidden = int(e * max(space.mlp_ratios))
        # Patch embeddings and position embeddings are per patch size / token grid (a few
        # hundred weights each): sharing one kernel across patch sizes would mean resampling it.
        self.patch_embed = nn.ModuleDict({str(p): nn.Conv2d(space.channels, e, p, p) for p in space.patches})
        grids = sorted({r // p for r in space.resolutions for p in space.patches if r % p == 0 and r // p >= 2})
        self.pos = nn.ParameterDict({str(g): nn.Parameter(torch.randn(1, g * g, e) * 0.02) for g in grids})
        self.blocks = nn.ModuleList(SuperBlock(e, hidden) for _ in range(space.max_depth))
        self.norm = nn.LayerNorm(e)
        self.head = nn.Linear(e, space.classes)

    def forward(self, x: torch.Tensor, c: ViTConfig) -> torch.Tensor:
        e = c.embed
        pe = self.patch_embed[str(c.patch)]
        x = F.conv2d(x, pe.weight[:e], pe.bias[:e], stride=c.patch)
        x = x.flatten(2).transpose(1, 2) + self.pos[str(c.grid)][:, :, :e]
        for i in range(c.depth):
            x = self.blocks[i](x, c, c.ranks[i])
        x = F.layer_norm(x, (e,), self.norm.weight[:e], self.norm.bias[:e])
        return F.linear(x.mean(dim=1), self.head.weight[:, :e], self.head.bias)

    @torch.no_grad()
    def extract(self, c: ViTConfig) -> "StaticViT":
        e, hid = c.embed, c.hidden
        pe = self.patch_embed[str(c.patch)]
        patch = nn.Conv2d(self.space.channels, e, c.patch, c.patch)
        patch.weight.data = pe.weight[:e].clone()
        patch.bias.data = pe.bias[:e].clone()
        blocks = []
        for i in range(c.depth):
            sb, r = self.blocks[i], c.ranks[i]
            blocks.append(StaticBlock(
                _ln(sb.norm1, e), *(m.extract(e, e, r) for m in (sb.q, sb.k, sb.v)), sb.proj.extract(e, e, r),
                _ln(sb.norm2, e), sb.fc1.extract(e, hid, r), sb.fc2.extract(hid, e, r), c.heads, c.tokens, e))
        head = nn.Linear(e, self.space.classes)
        head.weight.data = self.head.weight[:, :e].clone()
        head.bias.data = self.head.bias.clone()
        return StaticViT(patch, self.pos[str(c.grid)][:, :, :e].clone(), blocks, _ln(self.norm, e), head)


def _ln(src: nn.LayerNorm, e: int) -> nn.LayerNorm:
    ln = nn.LayerNorm(e, eps=src.eps)
    ln.weight.data = src.weight[:e].detach().clone()
    ln.bias.data = src.bias[:e].detach().clone()
    return ln


class StaticBlock(nn.Module):
    def __init__(self, norm1: nn.Module, q: nn.Module, k: nn.Module, v: nn.Module, proj: nn.Module,
                 norm2: nn.Module, fc1: nn.Module, fc2: nn.Module, heads: int, tokens: int, embed: int) -> None:
        super().__init__()
        self.norm1, self.q, self.k, self.v, self.proj = norm1, q, k, v, proj
        self.norm2, self.fc1, self.fc2 = norm2, fc1, fc2
        self.heads, self.tokens, self.embed = heads, tokens, embed

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.norm1(x)
        x = x + self.proj(attention(self.q(h), self.k(h), self.v(h), self.heads, self.tokens, self.embed))
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x))))


class StaticViT(nn.Module):
    """One sub-network as a plain PyTorch model: what gets fine-tuned and exported to ONNX."""

    def __init__(self, patch: nn.Conv2d, pos: torch.Tensor, blocks: list[StaticBlock], norm: nn.LayerNorm,
                 head: nn.Linear) -> None:
        super().__init__()
        self.patch = patch
        self.pos = nn.Parameter(pos)
        self.tokens, self.embed = int(pos.shape[1]), int(pos.shape[2])  # plain ints: see attention()
        self.blocks = nn.Sequential(*blocks)
        self.norm = norm
        self.head = head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch(x).reshape(-1, self.embed, self.tokens).transpose(1, 2) + self.pos
        x = self.norm(self.blocks(x))
        return self.head(x.mean(dim=1))
