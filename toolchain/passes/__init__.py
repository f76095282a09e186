"""Graph -> Graph passes, in pipeline order."""

from __future__ import annotations

from functools import partial
from typing import Callable

from toolchain.ir.graph import Graph
from toolchain.ir.verify import verify_graph
from toolchain.passes.einsum import lower_einsum
from toolchain.passes.fold import drop_unused, fold_conv_affine, fuse_activation, fuse_matmul_bias, lower_batchnorm
from toolchain.passes.heads import split_attention_heads
from toolchain.passes.integrate import INTEGRATIONS
from toolchain.passes.patterns import fuse_gelu, fuse_layernorm
from toolchain.passes.patterns_tf import fuse_gelu_tanh, fuse_tf_layernorm
from toolchain.passes.qkv import merge_shared_linears
from toolchain.passes.residual import fuse_residual
from toolchain.passes.views import drop_identities

Pass = Callable[[Graph], Graph]

# Always run: BatchNormalization and Einsum have no kernel of their own.
REQUIRED: tuple[Pass, ...] = (lower_batchnorm, lower_einsum)
# Operator integration; `--no-fuse` skips these so their gain can be measured.
FUSIONS: tuple[Pass, ...] = (drop_identities, fuse_layernorm, fuse_gelu, fuse_tf_layernorm, fuse_gelu_tanh, fold_conv_affine, fuse_matmul_bias, fuse_activation)
# Operator integration (`integrate`): MCUFormer's transformer ops, then CNN residual epilogues
# (after the token chains, which claim a transformer's residual Adds first).
INTEGRATED: tuple[Pass, ...] = INTEGRATIONS + (fuse_residual,)


def optimize(g: Graph, fuse: bool = True, integrate: bool = True, verify: bool = True,
             residual_convs: bool = True, merge_qkv: bool = True, split_heads: int = 0) -> Graph:
    """integrate: operator integration (patch embedding, attention, token chains, and with
    residual_convs the residual conv epilogues; with merge_qkv, q/k/v linears on one input as
    one, passes/qkv.py; with split_heads instead, attentions in pieces of that many heads,
    passes/heads.py)."""
    integrated = INTEGRATED if residual_convs else INTEGRATIONS
    if split_heads:  # in the merge's place: the heads' q/k/v linears must stay apart
        split = partial(split_attention_heads, group=split_heads)
        integrated = tuple(split if p is merge_shared_linears else p for p in integrated)
    elif not merge_qkv:
        integrated = tuple(p for p in integrated if p is not merge_shared_linears)
    passes = REQUIRED + (FUSIONS if fuse else ()) + (integrated if fuse and integrate else ())
    for p in passes + (drop_unused,):
        g = p(g)
        if verify:
            verify_graph(g)
    return g


__all__ = ["FUSIONS", "INTEGRATED", "INTEGRATIONS", "REQUIRED", "optimize"]
