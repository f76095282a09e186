"""Training graph -> a planned, lowered training-step program and its C sources.

Everything the step keeps in RAM lives in one static arena planned by the existing planner
and checked by the existing checker: trainable weights and optimizer state (pinned for the
whole program, so they persist across steps), the input and label, saved activations and
gradients (planned by lifetime). Frozen weights stay const in flash. The arena size is the
step's peak RAM (plus the stack).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from toolchain.codegen import emit
from toolchain.codegen.parallel import parallelize
from toolchain.codegen.emit import SourceSet, _env, _Renderer, c_comment, c_ident, copy_runtime, weight_values
from toolchain.errors import DoesNotFitError
from toolchain.ir.graph import Graph
from toolchain.memory import MemoryPlan, plan_memory
from toolchain.memory.planner import align_up
from toolchain.ops import REGISTRY
from toolchain.ops.base import Call, KernelTarget, LowerCtx, c_float
from toolchain.train.autodiff import TrainGraph
from toolchain.train.kernels import defined_kernels
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
    scratch_bytes: int = 0  # fast kernels' scratch, one region above the planned tensors
    target: KernelTarget = KernelTarget()
    loss_scale: LossScale = LossScale()

    @property
    def mixed(self) -> bool:
        return self.target.dtype == "f16"

    @property
    def scratch_offset(self) -> int:
        return align_up(self.memory.arena_bytes)

    @property
    def graph(self) -> Graph:
        return self.tg.graph

    @property
    def peak_ram_bytes(self) -> int:
        return self.scratch_offset + self.scratch_bytes if self.scratch_bytes else self.memory.arena_bytes

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
    mp = plan_memory(g, inplace=True, check=True)
    ctx = LowerCtx(g.tensors, target, defined_kernels())
    calls, fwd, bwd, seen_loss = [], 0, 0, False
    for n in g.nodes:
        op = REGISTRY.get(n.op_type)
        calls.append([] if op.view else op.lower(n.params, n, ctx))
        seen_loss = seen_loss or n.op_type == FORWARD_OPS_END
        ins = [g.tensors[i] for i in n.inputs if i]
        macs = op.macs(n.params, ins, [g.tensors[o] for o in n.outputs])
        if seen_loss:
            bwd += macs
        else:
            fwd += macs
    room = None if ram_budget is None else ram_budget - align_up(mp.arena_bytes)  # scratch sits above the arena
    calls, _ = parallelize(calls, harts, ctx.available, room)
    scratch = max((getattr(c, "scratch_bytes", 0) for cs in calls for c in cs), default=0)
    prog = TrainProgram(tg, mp, calls, fwd, bwd, scratch, target, loss_scale)
    if ram_budget is not None and prog.peak_ram_bytes > ram_budget:
        raise DoesNotFitError(f"the training step needs {prog.peak_ram_bytes} bytes of RAM at its peak; the budget "
                              f"is {ram_budget} bytes (train fewer layers, e.g. --trainable last:1 or biases)")
    return prog


def _ptr(mp: MemoryPlan, name: str, ctype: str = "float") -> str:
    return f"({ctype} *)(mf_arena + {mp.offset(name)})"


def render_training(prog: TrainProgram, out_dir: Path) -> SourceSet:
    """train.c / train.h / model_weights.[ch] plus the runtime files the calls need."""
    out_dir.mkdir(parents=True, exist_ok=True)
    g, mp, tg = prog.graph, prog.memory, prog.tg
    frozen = [t for t in g.constants() if t.dtype.is_float]
    names = {t.name: c_ident(i) for i, t in enumerate(frozen)}
    r = _Renderer(g, mp, names, prog.scratch_offset)
    nodes = []
    for i, (n, cs) in enumerate(zip(g.nodes, prog.calls)):
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
                    "ctype": emit.ctype(t)}
                   for t in frozen] + init
    x = tg.inputs[0]
    xent = tg.loss_params.kind == "cross_entropy"
    ctx = {
        "source": c_comment(g.source or g.name), "arena_bytes": str(prog.peak_ram_bytes),
        "arena_alloc": str(max(prog.peak_ram_bytes, 16)), "decls": r.decls, "nodes": nodes,
        "input_ptr": _ptr(mp, x), "input_size": str(g.tensors[x].size),
        "label_ptr": _ptr(mp, tg.label), "label_size": str(g.tensors[tg.label].size),
        "label_ctype": "int32_t" if xent else "float", "label_name": "label" if xent else "target",
        "loss_ptr": _ptr(mp, tg.loss), "loss_kind": tg.loss_params.kind, "optimizer": tg.optimizer.kind,
        "weights": [{"ram": _ptr(mp, w.name), "init": f"mf_init{i}", "size": str(w.init.size),
                     "name": c_comment(w.name), "half": _ptr(mp, w.half, "mf_f16") if w.half else "NULL"}
                    for i, w in enumerate(tg.weights)],
        "mixed": prog.mixed, "scale_init": c_float(prog.loss_scale.init),
        "scale_min": c_float(prog.loss_scale.min_scale), "scale_interval": str(prog.loss_scale.growth_interval),
        "states": [{"ram": _ptr(mp, s), "size": str(g.tensors[s].size)} for w in tg.weights for s in w.states],
        "macs_forward": str(prog.macs_forward), "macs_backward": str(prog.macs_backward),
        "weights_tpl": weights_tpl, "weight_bytes": str(sum(t.nbytes for t in frozen) + prog.trainable_bytes),
        "trainable_bytes": str(prog.trainable_bytes), "state_bytes": str(prog.optimizer_state_bytes),
    }
    env = _env()
    (out_dir / "train.c").write_text(env.get_template("train/train.c.j2").render(**ctx))
    (out_dir / "train.h").write_text(env.get_template("train/train.h.j2").render(**ctx))
    wctx = {"source": ctx["source"], "weights": weights_tpl, "weight_bytes": ctx["weight_bytes"],
            "weight_includes": sorted({"mf_f16.h" for w in weights_tpl if w["ctype"] != "float"})}
    (out_dir / "model_weights.c").write_text(env.get_template("model_weights.c.j2").render(**wctx))
    (out_dir / "model_weights.h").write_text(env.get_template("model_weights.h.j2").render(**wctx))
    # the step itself calls these (weight copies, loss scale), besides the nodes' kernels
    extra = {"mf_cast_f32_to_f16_ref", "mf_loss_scale_update"} if prog.mixed else set()
    rt = copy_runtime(out_dir / "runtime", r.kernels | extra)
    return SourceSet([out_dir / "train.c", out_dir / "model_weights.c"] + rt,
                     [out_dir, out_dir / "runtime" / "include"], out_dir)


def _as_tensor(name: str, arr: np.ndarray):
    from toolchain.ir.graph import DType, Tensor

    return Tensor(name, tuple(arr.shape), DType.FLOAT32, arr)
