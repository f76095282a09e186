"""Training graph -> a planned, lowered training-step program and its C sources.

Everything the step keeps in RAM lives in one static arena planned by the existing planner
and checked by the existing checker: trainable weights and optimizer state (pinned for the
whole program, so they persist across steps), the input and label, saved activations and
gradients (planned by lifetime), and each kernel's scratch during its node. Frozen weights
stay const in flash. The arena size is the step's peak RAM (plus the stack). Planning and
kernel choice are the inference program's (toolchain.program.plan_program).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from toolchain.codegen import (
    CallRenderer, SourceSet, c_comment, c_ident, c_string, copy_runtime, ctype, template_env, weight_values,
    write_memory_map,
)
from toolchain.errors import DoesNotFitError
from toolchain.ir.graph import Graph
from toolchain.memory import MemoryPlan
from toolchain.ops import REGISTRY
from toolchain.ops.base import Call, KernelTarget, c_float
from toolchain.program import plan_program
from toolchain.train.autodiff import TrainGraph
from toolchain.train.loss_optim import UpdateOp
from toolchain.train.mixed import LossScale

FORWARD_OPS_END = "TrainLoss"  # the node splitting forward from backward (for the report)


@dataclass
class TrainProgram:
    tg: TrainGraph
    memory: MemoryPlan
    calls: list[list[Call]]
    macs_forward: int
    macs_backward: int
    target: KernelTarget = KernelTarget()
    loss_scale: LossScale = LossScale()

    @property
    def mixed(self) -> bool:
        return self.target.dtype == "f16"

    @property
    def scratch_bytes(self) -> int:
        """The largest kernel scratch (im2col panels of the fast backward); inside the arena."""
        return max((c.scratch_bytes for cs in self.calls for c in cs), default=0)

    @property
    def graph(self) -> Graph:
        return self.tg.graph

    @property
    def peak_ram_bytes(self) -> int:
        return self.memory.arena_bytes

    @property
    def trainable_bytes(self) -> int:
        return sum(w.init.nbytes for w in self.tg.weights) + sum(w.init.size * 2 for w in self.tg.weights if w.half)

    @property
    def optimizer_state_bytes(self) -> int:
        return sum(self.graph.tensors[s].nbytes for w in self.tg.weights for s in w.states)

    @property
    def flash_weight_bytes(self) -> int:
        """Frozen weights plus the trainable weights' initial FP32 image (copied to RAM at init)."""
        frozen = sum(t.nbytes for t in self.graph.constants() if t.dtype.is_float)
        return frozen + sum(w.init.nbytes for w in self.tg.weights)

    def report(self) -> dict:
        return {"dtype": "fp16" if self.mixed else "fp32", "kernels": sorted(self.kernel_names()),
                "peak_ram_bytes": self.peak_ram_bytes, "trainable_bytes": self.trainable_bytes,
                "optimizer_state_bytes": self.optimizer_state_bytes,
                "flash_weight_bytes": self.flash_weight_bytes, "macs_forward": self.macs_forward,
                "macs_backward": self.macs_backward, "nodes": len(self.graph.nodes),
                "trainable": [{"name": w.name, "node": w.node, "shape": list(w.init.shape)} for w in self.tg.weights]}

    def kernel_names(self) -> set[str]:
        return {c.kernel for cs in self.calls for c in cs}


def compile_training(tg: TrainGraph, ram_budget: int | None = None, target: KernelTarget = KernelTarget(),
                     loss_scale: LossScale = LossScale(), harts: int = 1) -> TrainProgram:
    """Lower every node for `target` (its dtype must match the graph's: f16 for a graph from
    train.mixed.to_mixed) and plan the arena; refuse a step over `ram_budget`.
    harts > 1: calls with a parallel twin fork over the harts (codegen.parallel), their
    scratch one private copy per hart."""
    g = tg.graph
    # the inference program: aliases, then kernels, then scratch planned inside the arena
    calls, mp, _ = plan_program(g, target, harts=harts)
    fwd, bwd, seen_loss = 0, 0, False
    for n in g.nodes:
        op = REGISTRY.get(n.op_type)
        seen_loss = seen_loss or n.op_type == FORWARD_OPS_END
        ins = [g.tensors[i] for i in n.inputs if i]
        macs = op.macs(n.params, ins, [g.tensors[o] for o in n.outputs])
        if seen_loss:
            bwd += macs
        else:
            fwd += macs
    prog = TrainProgram(tg, mp, calls, fwd, bwd, target, loss_scale)
    if ram_budget is not None and prog.peak_ram_bytes > ram_budget:
        raise DoesNotFitError(f"the training step needs {prog.peak_ram_bytes} bytes of RAM at its peak; the budget "
                              f"is {ram_budget} bytes (train fewer layers, e.g. --trainable last:1 or biases)")
    return prog


def render_training(prog: TrainProgram, out_dir: Path) -> SourceSet:
    """train.c / train.h / model_weights.[ch] plus the runtime files the calls need."""
    out_dir.mkdir(parents=True, exist_ok=True)
    g, mp, tg = prog.graph, prog.memory, prog.tg
    frozen = [t for t in g.constants() if t.dtype.is_float]
    names = {t.name: c_ident(i) for i, t in enumerate(frozen)}
    r = CallRenderer(g, mp, names)
    nodes = []
    for i, (n, cs) in enumerate(zip(g.nodes, prog.calls)):
        r.node = i
        op = REGISTRY.get(n.op_type)
        written = list(n.outputs)
        if isinstance(op, type) and issubclass(op, UpdateOp):
            written += op.written(n, g.tensors)
        comment = f"{n.name} ({n.op_type})" + (f" from {', '.join(n.origin)}" if n.origin else "")
        nodes.append({"comment": c_comment(comment), "calls": [r.call(c, f"n{i}", written) for c in cs]})
    init = [{"cname": f"mf_init{i}", "comment": c_comment(f"initial {w.name}"), "size": str(max(w.init.size, 1)),
             "shape": "x".join(str(d) for d in w.init.shape) or "scalar",
             "rows": weight_values(_as_tensor(w.name, w.init)), "ctype": "float"} for i, w in enumerate(tg.weights)]
    weights_tpl = [{"cname": names[t.name], "comment": c_comment(t.name), "size": str(max(t.size, 1)),
                    "rows": weight_values(t), "shape": "x".join(str(d) for d in t.shape) or "scalar",
                    "ctype": ctype(t)}
                   for t in frozen] + init
    x = tg.inputs[0]
    xent = tg.loss_params.kind == "cross_entropy"
    ctx = {
        "source": c_comment(g.source or g.name), "arena_bytes": str(prog.peak_ram_bytes),
        "arena_alloc": str(max(prog.peak_ram_bytes, 16)), "decls": r.decls, "nodes": nodes,
        "input_ptr": r.pointer(x), "input_size": str(g.tensors[x].size),
        "label_ptr": r.pointer(tg.label), "label_size": str(g.tensors[tg.label].size),
        "label_ctype": "int32_t" if xent else "float", "label_name": "label" if xent else "target",
        "loss_ptr": r.pointer(tg.loss), "loss_kind": tg.loss_params.kind, "optimizer": tg.optimizer.kind,
        "weights": [{"ram": r.pointer(w.name), "init": f"mf_init{i}", "size": str(w.init.size),
                     "name": c_string(w.name), "half": r.pointer(w.half, "mf_f16") if w.half else "NULL"}
                    for i, w in enumerate(tg.weights)],
        "mixed": prog.mixed, "scale_init": c_float(prog.loss_scale.init),
        "scale_min": c_float(prog.loss_scale.min_scale), "scale_interval": str(prog.loss_scale.growth_interval),
        "states": [{"ram": r.pointer(s), "size": str(g.tensors[s].size)} for w in tg.weights for s in w.states],
        "macs_forward": str(prog.macs_forward), "macs_backward": str(prog.macs_backward),
        "weights_tpl": weights_tpl, "weight_bytes": str(sum(t.nbytes for t in frozen) + prog.trainable_bytes),
        "trainable_bytes": str(prog.trainable_bytes), "state_bytes": str(prog.optimizer_state_bytes),
    }
    env = template_env()
    (out_dir / "train.c").write_text(env.get_template("train/train.c.j2").render(**ctx))
    (out_dir / "train.h").write_text(env.get_template("train/train.h.j2").render(**ctx))
    wctx = {"source": ctx["source"], "weights": weights_tpl, "weight_bytes": ctx["weight_bytes"],
            "weight_includes": sorted({"mf_f16.h" for w in weights_tpl if w["ctype"] != "float"})}
    (out_dir / "model_weights.c").write_text(env.get_template("model_weights.c.j2").render(**wctx))
    (out_dir / "model_weights.h").write_text(env.get_template("model_weights.h.j2").render(**wctx))
    write_memory_map(g, mp, r.slots, out_dir / "memory_map.txt")
    # the step itself calls these (weight copies, loss scale), besides the nodes' kernels
    extra = {"mf_cast_f32_to_f16_ref", "mf_loss_scale_update"} if prog.mixed else set()
    rt = copy_runtime(out_dir / "runtime", r.kernels | extra)
    return SourceSet([out_dir / "train.c", out_dir / "model_weights.c"] + rt,
                     [out_dir, out_dir / "runtime" / "include"], out_dir)


def _as_tensor(name: str, arr: np.ndarray):
    from toolchain.ir.graph import DType, Tensor

    return Tensor(name, tuple(arr.shape), DType.FLOAT32, arr)
