"""patch_stage: Graph -> Graph that runs a CNN's first convolutions band by band (MCUNetV2's
patch-based inference; ops/patch.py PatchStage), so their large feature maps only ever exist
as one band, the halo rows recomputed.

Runs last, on the graph that is planned (after stream_input: a streamed first conv, StreamIn,
becomes a stage that reads the image rows itself, PatchStageRows). The stage is the chain of
2-D convs (float Conv or int8 QConv) that starts at the first conv, each the only reader of
the one before, none an output of the model. Where it ends (N layers) and how many output rows a band has are
chosen by `choose_patch_stage` with the planner's own arena (memory first):

  1. for every N, the arena with one-row bands (the least memory a stage of N layers needs);
  2. the N of the smallest arena, the fewest layers on ties (less recompute); none if no N
     gives a smaller arena than no stage at all;
  3. for that N, the tallest band whose arena is no larger (the least recompute); under a RAM
     budget (--patch-stage fit: the model did not fit without a stage), the tallest band
     whose arena stays within the budget.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from toolchain.errors import UnsupportedOpError
from toolchain.ir.graph import Graph, Node
from toolchain.ops.patch import STAGE_DTYPES, STAGE_OPS, PatchLayer, PatchParams
from toolchain.passes.fold import _copy

MAX_LAYERS = 16  # a stage longer than this is never where the large maps are


class PatchError(UnsupportedOpError):
    """--patch-stage asked for a stage this model cannot have (a user choice)."""


@dataclass(frozen=True)
class PatchChoice:
    """What the report shows: the stage, its bands and what they cost."""

    layers: tuple[str, ...]  # node names, first to last
    output: str  # the stage's output tensor
    output_shape: tuple[int, ...]
    rows: int  # output rows per band
    bands: int
    streamed: bool
    full_macs: int  # the layers op by op
    banded_macs: int  # the layers band by band (halo rows recomputed)
    arena_bytes: int  # with the stage
    without_bytes: int  # the same graph without it
    candidates: dict[int, int]  # layers -> arena with one-row bands

    @property
    def recompute_pct(self) -> float:
        return 100.0 * (self.banded_macs - self.full_macs) / max(self.full_macs, 1)

    def report(self) -> dict:
        return {"layers": list(self.layers), "output": self.output, "output_shape": list(self.output_shape),
                "grid": f"{self.bands} x 1 row bands of {self.rows} output row{'s' if self.rows > 1 else ''}",
                "band_rows": self.rows, "bands": self.bands, "streamed_input": self.streamed,
                "macs": self.full_macs, "banded_macs": self.banded_macs,
                "recompute_macs": self.banded_macs - self.full_macs,
                "recompute_pct": round(self.recompute_pct, 2), "arena_bytes": self.arena_bytes,
                "arena_without_bytes": self.without_bytes,
                "arena_by_layers": {str(k): v for k, v in self.candidates.items()}}


def _conv_ok(g: Graph, n: Node) -> bool:
    p = n.params
    return (n.op_type in STAGE_OPS and p.win.spatial_rank == 2 and not getattr(p, "residual", False)
            and len(n.inputs) <= 3
            and g.tensors[n.inputs[0]].dtype in STAGE_DTYPES and len(g.tensors[n.inputs[0]].shape) == 4
            and g.tensors[n.inputs[0]].shape[0] == 1 and all(g.tensors[i].is_const for i in n.inputs[1:] if i))


def stage_chain(g: Graph) -> list[Node]:
    """The convs a stage can take, first to last: the first conv of the graph (or the streamed
    first conv) and each one after it that is the only reader of the one before."""
    users = g.consumers()
    first = next((n for n in g.nodes if n.op_type in STAGE_OPS + ("StreamIn",)), None)
    if first is None:
        return []
    if first.op_type == "StreamIn":  # passes/stream.py checked its image (4-D, batch 1, dtype)
        sp = first.params
        if (sp.inner not in STAGE_OPS or sp.params.win.spatial_rank != 2 or getattr(sp.params, "residual", False)
                or len(first.inputs) > 3 or not all(g.tensors[i].is_const for i in first.inputs[1:] if i)):
            return []
    elif not _conv_ok(g, first):
        return []
    chain = [first]
    while len(chain) < MAX_LAYERS:
        y = chain[-1].outputs[0]
        nxt = users.get(y, [])
        if y in g.outputs or len(nxt) != 1 or not _conv_ok(g, nxt[0]) or nxt[0].inputs[0] != y:
            break
        chain.append(nxt[0])
    return chain


def _layer(g: Graph, n: Node) -> PatchLayer:
    if n.op_type == "StreamIn":
        c, h, w = n.params.image
        x_shape, op, p = (1, c, h, w), n.params.inner, n.params.params
    else:
        x_shape, op, p = g.tensors[n.inputs[0]].shape, n.op_type, n.params
    bias = len(n.inputs) > 2 and bool(n.inputs[2])
    return PatchLayer(op, p, tuple(x_shape), g.tensors[n.inputs[1]].shape, bias, n.name)  # type: ignore[arg-type]


def apply_patch_stage(g: Graph, layers: int, rows: int) -> Graph:
    """g with its first `layers` chain convs as one stage of `rows`-row bands."""
    chain = stage_chain(g)
    if layers < 1 or layers > len(chain):
        raise PatchError(f"--patch-stage {layers}: a patch stage of this model can take 1 to {len(chain)} layers "
                         f"(its first 2-D convs, each the only reader of the one before)" if chain else
                         f"--patch-stage {layers}: this model has no first 2-D conv chain a patch stage can take")
    chain = chain[:layers]
    head = chain[0]
    streamed = head.op_type == "StreamIn"
    sp = head.params if streamed else None
    p = PatchParams(tuple(_layer(g, n) for n in chain), rows, sp.image if sp else None,
                    bool(sp and sp.nhwc), bool(sp and sp.to_f16), bool(sp and sp.from_u8))
    if any(bd.a >= bd.b for step in p.bands for bd in step):
        raise PatchError(f"--patch-stage {layers}: a band of {rows} row(s) reads only padding rows")
    consts = [i for n in chain for i in n.inputs[1:] if i]
    y = chain[-1].outputs[0]
    new = Node(f"{head.name}/patch{layers}", "PatchStageRows" if streamed else "PatchStage",
               [head.inputs[0]] + consts, [y], p, [o for n in chain for o in n.origin])
    tensors = dict(g.tensors)
    for n in chain[:-1]:  # the intermediate maps exist as bands only (node scratch)
        del tensors[n.outputs[0]]
    at = g.nodes.index(chain[-1])
    nodes = [new if i == at else n for i, n in enumerate(g.nodes) if all(n is not m for m in chain[:-1])]
    return _copy(g, nodes, tensors)


def parse_patch_stage(value: str) -> tuple[int | None, int | None]:
    """--patch-stage's "N" or "N:R" (layers, output rows per band); auto/fit: (None, None)."""
    if value in ("auto", "fit"):
        return None, None
    n, _, r = value.partition(":")
    if not n.isdigit() or int(n) < 1 or (r and (not r.isdigit() or int(r) < 1)):
        raise PatchError(f"--patch-stage {value!r}: expected auto, off, fit, N or N:R (layers, rows per band; "
                         f"each 1 or more)")
    return int(n), int(r) if r else None


def choose_patch_stage(g: Graph, arena: Callable[[Graph], int], layers: int | None = None,
                       over: int = 0, rows: int | None = None) -> tuple[Graph, PatchChoice | None]:
    """The stage the planner's arena picks (see the module doc); layers: force that many,
    rows: that many output rows per band; over: look for a stage only if the arena without
    one is larger than this. arena(graph) -> bytes is the planned arena of a candidate graph."""
    chain = stage_chain(g)
    if layers is None and not chain:
        return g, None
    base = arena(g)
    if over and base <= over:
        return g, None
    counts = [layers] if layers is not None else list(range(1, len(chain) + 1))
    cands: dict[int, int] = {}
    for n in counts:
        try:
            cands[n] = arena(apply_patch_stage(g, n, 1))
        except PatchError:
            if layers is not None:
                raise
    if not cands:
        return g, None
    best_n = min(cands, key=lambda k: (cands[k], k))
    best = cands[best_n]
    if layers is None and best >= base:
        return g, None
    if rows is None:  # the tallest band (least recompute) that keeps the arena, or stays in budget
        rows, limit = 1, max(best, over)
        for r in _row_choices(_stage_out_h(g, best_n)):
            try:
                a = arena(apply_patch_stage(g, best_n, r))
            except PatchError:
                continue
            if a > limit:
                break  # taller bands only grow from here
            rows, best = r, a
    else:
        best = arena(apply_patch_stage(g, best_n, rows))
    h = apply_patch_stage(g, best_n, rows)
    st = next(n for n in h.nodes if n.op_type in ("PatchStage", "PatchStageRows"))
    p: PatchParams = st.params
    return h, PatchChoice(tuple(lay.name for lay in p.layers), st.outputs[0], p.layers[-1].out_shape, p.rows, p.steps,
                          p.image is not None, p.full_macs, p.banded_macs, best, base, cands)


def _stage_out_h(g: Graph, layers: int) -> int:
    n = stage_chain(g)[layers - 1]
    return g.tensors[n.outputs[0]].shape[2]


def _row_choices(h: int) -> list[int]:
    """Band heights worth trying, increasing: 2, 3, 4, 6, 8, ... below the map's height."""
    out, r = [], 2
    while r < h:
        out.append(r)
        r = r + 1 if r < 4 else r + r // 2
    return out

