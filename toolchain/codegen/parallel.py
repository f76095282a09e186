"""Kernel calls -> their fork/join twins, for a build that runs on several harts.

A kernel mf_<op>_<dtype>_<isa> has a parallel twin mf_<op>_par_<dtype>_<isa> when
the runtime's src/par_*.c defines one (ops/par_kernels.py registers them): same arguments, the work split over the harts of
mf_cluster_fork (by output pixel blocks, channels or outer rows; see the runtime's par_conv body), bit for
bit the one-hart result. A twin that takes scratch takes one private copy per hart, back to
back, each of the one-hart size its C side computes from the descriptor: the call's scratch
is planned in the arena as harts x that size, like any one-node buffer. Calls without a twin
stay serial on hart 0 (their instructions count as the serial part of the span).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, replace

import numpy as np

from toolchain.ir import Graph, Node
from toolchain.ops.base import Call

# Twins that share the one-hart scratch between the harts (each hart its own rows of it, or
# phases with the join as the barrier) instead of taking a private copy per hart (par_train.c).
SHARED_SCRATCH = frozenset({f"mf_conv2d_bwd_{e}_par_{t}_rvv" for e in ("weight", "input") for t in ("f32", "f16")})

# Twins that run a map of fewer pixel chunks (of this many columns) than harts as one shared
# im2col panel with output channels per hart (par_small_map of the C side): one scratch copy
# there, harts copies for larger maps (one image, no groups; the C side decides the same way).
SHARED_PANEL = {"mf_conv2d_par_f32_rvv": 16, "mf_conv2d_residual_par_f32_rvv": 16}  # MF_CONV_COLS_RVV

_NAME = re.compile(r"^(mf_\w+?)_(f32|f16|s8)_([a-z0-9]+)$")


def par_name(kernel: str) -> str | None:
    """mf_conv2d_f32_dsp -> mf_conv2d_par_f32_dsp (None for a name outside the scheme)."""
    m = _NAME.match(kernel)
    return f"{m.group(1)}_par_{m.group(2)}_{m.group(3)}" if m else None


@dataclass(frozen=True)
class ParallelCall:
    """What the planner's report says of one parallel node."""

    node: int
    kernel: str
    scratch_per_hart: int
    copies: int


def shared_panel(name: str, node: Node | None, g: Graph | None, harts: int) -> bool:
    """Whether the twin `name` runs this conv node on one shared panel (SHARED_PANEL)."""
    if name not in SHARED_PANEL or node is None or g is None or node.op_type != "Conv":
        return False
    shape = g.tensors[node.outputs[0]].shape
    pixels = int(np.prod(shape[2:]))
    return shape[0] == 1 and node.params.group == 1 and -(-pixels // SHARED_PANEL[name]) < harts


def parallelize(calls: list[list[Call]], harts: int, available: Collection[str] | None,
                max_scratch: int | None = None,
                g: Graph | None = None) -> tuple[list[list[Call]], list[ParallelCall]]:
    """Swaps each call that has a parallel twin for it (harts > 1), scratch x harts.
    max_scratch: a call whose harts copies would exceed it stays serial (the training step
    keeps its scratch in one region above the arena, and the copies must fit the RAM).
    g: the graph whose nodes the calls lower (calls[i] is node i's), for SHARED_PANEL."""
    if harts <= 1:
        return calls, []
    out: list[list[Call]] = []
    report: list[ParallelCall] = []
    for i, cs in enumerate(calls):
        node_calls = []
        for c in cs:
            name = par_name(c.kernel)
            node = g.nodes[i] if g is not None else None
            one = name in SHARED_SCRATCH or shared_panel(name or "", node, g, harts)
            copies = (1 if one else harts) if c.scratch_bytes else 0
            fits = max_scratch is None or c.scratch_bytes * copies <= max_scratch
            if name is not None and available is not None and name in available and fits:
                report.append(ParallelCall(i, name, c.scratch_bytes, copies))
                c = replace(c, kernel=name, scratch_bytes=c.scratch_bytes * max(copies, 1))
            node_calls.append(c)
        out.append(node_calls)
    return out, report
