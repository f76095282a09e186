"""The library API the CLI calls: compile a model, write its C, report its memory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import onnx

from toolchain.codegen.emit import SourceSet, render_sources
from toolchain.frontend import import_model, load_onnx
from toolchain.ir.graph import Graph
from toolchain.memory import MemoryPlan, plan_memory
from toolchain.memory.report import naive_bytes, node_memory, op_by_op_bound
from toolchain.ops import REGISTRY
from toolchain.codegen.emit import kernel_sources
from toolchain.ops.base import Call, KernelTarget, LowerCtx
from toolchain.passes import optimize


@dataclass(frozen=True)
class CompileOptions:
    fuse: bool = True
    inplace: bool = True
    target: KernelTarget = KernelTarget()


@dataclass(frozen=True)
class NodeReport:
    name: str
    op: str
    output_shape: tuple[int, ...]
    macs: int
    live_bytes: int


@dataclass
class CompiledModel:
    graph: Graph
    memory: MemoryPlan
    calls: list[list[Call]]
    nodes: list[NodeReport]

    @property
    def arena_bytes(self) -> int:
        return self.memory.arena_bytes

    @property
    def weight_bytes(self) -> int:
        return sum(t.nbytes for t in self.graph.constants() if t.dtype.is_float)

    @property
    def macs(self) -> int:
        return sum(n.macs for n in self.nodes)

    def peak_node(self) -> NodeReport | None:
        return max(self.nodes, key=lambda n: n.live_bytes, default=None)

    def report(self) -> dict:
        g = self.graph
        peak = self.peak_node()
        return {
            "model": g.source, "arena_bytes": self.arena_bytes, "weight_bytes": self.weight_bytes,
            "macs": self.macs, "naive_bytes": naive_bytes(g), "op_by_op_bound_bytes": op_by_op_bound(g),
            "inputs": [{"name": n, "shape": list(g.tensors[n].shape)} for n in g.inputs],
            "outputs": [{"name": n, "shape": list(g.tensors[n].shape)} for n in g.outputs],
            "peak_node": peak.name if peak else None,
            "nodes": [{"name": n.name, "op": n.op, "output_shape": list(n.output_shape), "macs": n.macs,
                       "live_bytes": n.live_bytes} for n in self.nodes],
        }


def compile_graph(g: Graph, options: CompileOptions = CompileOptions()) -> CompiledModel:
    g = optimize(g, fuse=options.fuse)
    mp = plan_memory(g, inplace=options.inplace)
    ctx = LowerCtx(g.tensors, options.target, frozenset(kernel_sources()))
    calls, reports = [], []
    mem = node_memory(g, mp.lifetimes)
    for n, m in zip(g.nodes, mem):
        op = REGISTRY.get(n.op_type)
        calls.append([] if op.view else op.lower(n.params, n, ctx))
        ins = [g.tensors[i] for i in n.inputs if i]
        outs = [g.tensors[o] for o in n.outputs if o]
        reports.append(NodeReport(n.name, n.op_type, outs[0].shape if outs else (),
                                  op.macs(n.params, ins, outs), m.live_bytes))
    return CompiledModel(g, mp, calls, reports)


def compile_model(path: str | Path | onnx.ModelProto, input_shapes: dict[str, tuple[int, ...]] | None = None,
                  options: CompileOptions = CompileOptions()) -> CompiledModel:
    g = import_model(path, input_shapes) if isinstance(path, onnx.ModelProto) else load_onnx(path, input_shapes)
    return compile_graph(g, options)


def write_sources(cm: CompiledModel, out_dir: str | Path) -> SourceSet:
    return render_sources(cm.graph, cm.memory, cm.calls, cm.macs, Path(out_dir))
