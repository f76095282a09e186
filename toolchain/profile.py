"""Per-layer cost of a model run in the simulator (`mcuforge run --sim --profile`).

The generated model.c calls a marker (MF_PROFILE_NODE, runtime_c/include/mf_profile.h) before
each node; the QEMU plugin records the instruction count each time it is entered. Node k's
cost is the count between marker k and marker k+1 (the stop marker after the last node), less
the marker's own instructions, which the plugin counts apart. What is left outside the layers
is the call of mf_model_run itself and one call instruction per node: well under 1%.

Instructions are a proxy for cycles, not cycles (see SIM.md); on RVV the LMUL-weighted count
counts each vector instruction LMUL times.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from toolchain.api import CompiledModel
from toolchain.sim.errors import RunError
from toolchain.sim.qemu import NodeCounts


@dataclass(frozen=True)
class LayerCost:
    index: int
    node: str                  # the node's name after fusion (ONNX name of its first node)
    op: str
    kernel: str                # the kernels its calls ran, '+'-joined; 'view' for no code
    instructions: int
    weighted_instructions: int | None  # RVV LMUL-weighted, else None
    macs: int
    live_bytes: int            # arena bytes live while the node runs

    @property
    def cost(self) -> int:
        return self.weighted_instructions if self.weighted_instructions is not None else self.instructions

    @property
    def instructions_per_mac(self) -> float | None:
        return self.cost / self.macs if self.macs else None

    def as_dict(self) -> dict:
        d = asdict(self)
        d["instructions_per_mac"] = self.instructions_per_mac
        if self.weighted_instructions is None:
            del d["weighted_instructions"]
        return d


def kernel_names(cm: CompiledModel, index: int) -> str:
    names = list(dict.fromkeys(c.kernel for c in cm.calls[index]))
    return "+".join(names) if names else "view"


def layer_costs(cm: CompiledModel, counts: NodeCounts, weighted: bool) -> list[LayerCost]:
    """One LayerCost per node of the compiled graph, in execution order."""
    nodes = cm.graph.nodes
    cps = counts.checkpoints
    if len(cps) != len(nodes):
        raise RunError(f"the profile saw {len(cps)} node markers for {len(nodes)} nodes "
                       "(a kernel returned an error, or the firmware was not built with -DMF_PROFILE)")
    if not nodes:
        return []
    per_marker, rest = divmod(counts.marker_instructions, len(nodes))
    if rest:
        raise RunError(f"the node marker did not run the same code on every call "
                       f"({counts.marker_instructions} instructions over {len(nodes)} calls)")
    bounds = [*cps, counts.end]
    out = []
    for k, (n, rep) in enumerate(zip(nodes, cm.nodes)):
        (c0, v0), (c1, v1) = bounds[k], bounds[k + 1]
        ins = c1 - c0 - per_marker
        out.append(LayerCost(k, n.name, n.op_type, kernel_names(cm, k), ins,
                             ins + (v1 - v0) if weighted else None, rep.macs, rep.live_bytes))
    return out


def total_without_markers(total: int, counts: NodeCounts) -> int:
    """The run's count less the markers' own instructions: what the model itself executed."""
    return total - counts.marker_instructions


def chrome_trace(layers: list[LayerCost], model: str, board: str) -> dict:
    """A Chrome/Perfetto trace (JSON object format), one complete event per layer, with
    instructions as time: 1 instruction = 1 us on the viewer's axis (its unit is fixed)."""
    events: list[dict] = [
        {"name": "process_name", "ph": "M", "pid": 1, "tid": 1, "args": {"name": f"{Path(model).name} on {board}"}},
        {"name": "thread_name", "ph": "M", "pid": 1, "tid": 1, "args": {"name": "layers (1 us = 1 instruction)"}},
    ]
    t = 0
    for layer in layers:
        events.append({"name": layer.node, "cat": layer.op, "ph": "X", "ts": t, "dur": layer.cost, "pid": 1,
                       "tid": 1, "args": {"kernel": layer.kernel, "instructions": layer.instructions,
                                          "weighted_instructions": layer.weighted_instructions,
                                          "macs": layer.macs, "live_bytes": layer.live_bytes}})
        t += layer.cost
    return {"traceEvents": events,
            "otherData": {"model": str(model), "board": board, "time_unit": "instructions",
                          "total": t}}


def write_trace(path: str | Path, layers: list[LayerCost], model: str, board: str) -> Path:
    p = Path(path)
    p.write_text(json.dumps(chrome_trace(layers, model, board)))
    return p
