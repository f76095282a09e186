"""The library API the CLI calls: compile a model, write its C, report its memory."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import onnx

from toolchain import __version__
from toolchain.codegen.emit import SourceSet, render_sources, table_bytes
from toolchain.frontend import import_model, load_onnx
from toolchain.codegen.target import TargetError
from toolchain.ir.graph import DType, Graph
from toolchain.memory import MemoryPlan
from toolchain.memory.report import naive_bytes, node_memory, op_by_op_bound
from toolchain.ops import REGISTRY
from toolchain.ops.base import Call, KernelTarget
from toolchain.codegen.parallel import ParallelCall
from toolchain.ir.verify import verify_graph
from toolchain.memory.planner import STRATEGIES
from toolchain.memory.schedule import memory_aware_order
from toolchain.passes import optimize
from toolchain.passes.fp16 import to_fp16
from toolchain.prefer import Choice, choose
from toolchain.program import plan_program
from toolchain.passes.qattention import fuse_qattention
from toolchain.passes.qresidual import fuse_qresidual
from toolchain.passes.stream import integer_input, stream_input
from toolchain.passes.patch import PatchChoice, choose_patch_stage, parse_patch_stage


SCHEDULES = ("mcuformer", "naive")
# what operator integration builds (passes/integrate.py; passes/residual.py gives a Conv the skip
# as a fourth input)
INTEGRATED_OPS = frozenset({"TokenChain", "FusedAttention", "PatchEmbed"})


def _integrated(g: Graph) -> bool:
    return any(n.op_type in INTEGRATED_OPS or (n.op_type == "Conv" and len(n.inputs) > 3) for n in g.nodes)


@dataclass(frozen=True)
class CompileOptions:
    """What the compiler may do to save memory. The default is the full MCUFormer-style
    schedule; `schedule("naive")` is the op-by-op, TFLM-like baseline (BN and activations
    folded as a TFLite converter would, every other op's output in its own buffer)."""

    fuse: bool = True  # BN folding, activation/bias epilogues, LayerNorm/GELU patterns
    inplace: bool = True  # element-wise ops over their dead input
    integrate: bool = True  # patch embedding, attention, per-token chains (MCUFormer)
    overwrite: bool = True  # token overwriting, and patch embedding over the consumed input
    planner: tuple[str, ...] = tuple(STRATEGIES)  # placement orders tried; the smallest arena wins
    reorder: bool = True  # also try a memory-aware topological order; keep the better
    # kernel dtype and ISA preference; build one with toolchain.codegen.target.kernel_target
    # (board, "fp16") -- dtype "f16" stores weights and activations as FP16 (--dtype fp16)
    target: KernelTarget = KernelTarget()
    # Schedules compete: also plan the same model without integration and as the naive
    # op-by-op schedule, and keep the smallest arena, so integration never costs memory.
    compete: bool = True
    # harts the kernels fork over (a cluster board, toolchain/codegen/parallel.py); 1 = serial
    harts: int = 1
    # q, k and v Linears on one input as one linear (passes/qkv.py): one LayerNorm and GEMM per
    # block, but the attention can no longer write over q. With compete, `prefer` decides
    # (_qkv_choice); without, this flag does.
    merge_qkv: bool = True
    # multi-head attentions between per-token linears run in pieces of this many heads
    # (passes/heads.py; 0: whole): the N x D sum, the shared LayerNorm output and one piece's
    # q/k/v live instead of x, q, k and v; narrower GEMMs, so with compete a memory-first
    # choice (_qkv_choice: 1 = head by head, 2 = pairs), never merged.
    split_heads: int = 0
    # the first op reads the image by rows through mf_model_run_rows (passes/stream.py): only
    # its band is in the arena, never the whole input
    stream_input: bool = False
    # a quantised model's float image input taken as the int8 values its QuantizeLinear
    # makes (passes/stream.py integer_input): no float input buffer, no quantisation at run time
    int_input: bool = False
    # the first convs band by band, halo rows recomputed (passes/patch.py, MCUNetV2): "off",
    # "auto" (the stage and band height the planner's arena picks, kept only where it lowers
    # the arena), a number of layers N (or "N:R", R output rows per band), or "fit" (the
    # default): "auto" only when the arena without a stage is larger than ram_budget, else off.
    # The stage costs recompute MACs, so it is not taken where the model fits anyway: memory
    # first, then the fastest schedule that fits.
    patch_stage: str = "fit"
    # in place or out of place per depthwise/pointwise conv (toolchain/prefer.py): "auto" (memory
    # first: the faster kernel where it still fits ram_budget), "speed", "memory"
    prefer: str = "auto"
    # arena bytes allowed (build/run: the board's RAM less its stack); None: unknown (then
    # --patch-stage fit is off and --prefer auto keeps every conv in place: nothing is known to fit)
    ram_budget: int | None = None
    # the convs to keep out of place, decided already (a build on several harts takes the
    # one-hart choice, so both run the same kernels); None: choose by `prefer`
    out_of_place: frozenset[str] | None = None

    @classmethod
    def schedule(cls, name: str, **kw: object) -> "CompileOptions":
        if name == "naive":
            return cls(fuse=True, inplace=False, integrate=False, overwrite=False,  # type: ignore[arg-type]
                       planner=("greedy-by-size",), reorder=False, compete=False, **kw)
        if name == "mcuformer":
            return cls(**kw)  # type: ignore[arg-type]
        raise ValueError(f"schedule {name!r}: expected one of {SCHEDULES}")


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
    order_arenas: dict[str, int] = field(default_factory=dict)  # arena per schedule order tried
    target: KernelTarget = KernelTarget()
    options: CompileOptions = CompileOptions()

    def build_info(self) -> list[str]:
        """What the generated header records: the options, the schedule order kept, the version."""
        o = self.options
        on = [k for k in ("fuse", "inplace", "integrate", "overwrite") if getattr(o, k)]
        return [f"mcuforge {__version__}",
                f"schedule: {', '.join(on) or 'op by op'}; planner {self.memory.plan.strategy}; "
                f"order {min(self.order_arenas, key=self.order_arenas.get) if self.order_arenas else 'given'}",
                f"kernels: dtype {self.target.dtype}, ISAs {'/'.join(self.target.isas)}"] + (
                    [f"patch stage: {len(self.patch.layers)} layers in {self.patch.bands} bands of "
                     f"{self.patch.rows} output rows (recompute {self.patch.recompute_pct:.1f}% of their MACs)"]
                    if self.patch else [])
    schedule: str = "mcuformer"  # which competing schedule was kept (see CompileOptions.compete)
    schedule_arenas: dict[str, int] = field(default_factory=dict)  # arena of each competitor
    op_by_op_bytes: int = 0  # op_by_op_bound of the model's op-by-op graph (no integration)
    # the attention forms the integrated schedule planned (merged / apart / pairs / heads) -> arena
    attention_arenas: dict[str, int] = field(default_factory=dict)
    harts: int = 1
    parallel: list[ParallelCall] = field(default_factory=list)  # calls forked over the harts
    patch: PatchChoice | None = None  # the patch-based first stage, if one was built
    placement: list[Choice] = field(default_factory=list)  # in/out of place per conv (toolchain.prefer)

    @property
    def scratch_bytes(self) -> int:
        """The largest kernel scratch (im2col panels, token rows); planned inside the arena."""
        return max((c.scratch_bytes for cs in self.calls for c in cs), default=0)

    @property
    def arena_bytes(self) -> int:
        return self.memory.arena_bytes

    @property
    def weight_bytes(self) -> int:
        """Every weight byte in flash: the graph's constants and their kernel-layout copies."""
        g = sum(t.nbytes for t in self.graph.constants() if t.dtype.is_float or t.quant is not None)
        return g + self.kernel_weight_bytes

    @property
    def kernel_weight_bytes(self) -> int:
        """The part of weight_bytes that is weights copied into a kernel's own layout (tables
        of kind "weights": the DSP convs' SMLAD pairs), emitted beside the graph's weights."""
        return table_bytes(self.calls, "weights")

    @property
    def macs(self) -> int:
        return sum(n.macs for n in self.nodes)

    def peak_node(self) -> NodeReport | None:
        return max(self.nodes, key=lambda n: n.live_bytes, default=None)

    def peak_live(self) -> list[dict]:
        """What occupies the arena while the peak node runs: tensor, bytes, offset."""
        if not self.nodes:
            return []
        i = max(range(len(self.nodes)), key=lambda k: self.nodes[k].live_bytes)
        lt = self.memory.lifetimes
        out = []
        for b in lt.buffers:
            live = [t for t in b.tensors if lt.tensor_range[t][0] <= i <= lt.tensor_range[t][1]]
            if live and b.bytes_at(i):
                out.append({"tensors": live, "bytes": b.bytes_at(i), "offset": self.memory.plan.offsets[b.id]})
        return sorted(out, key=lambda d: d["offset"])

    def report(self) -> dict:
        g = self.graph
        peak = self.peak_node()
        return {
            "model": g.source, "arena_bytes": self.arena_bytes, "weight_bytes": self.weight_bytes,
            "macs": self.macs, "naive_bytes": naive_bytes(g), "op_by_op_bound_bytes": self.op_by_op_bytes or op_by_op_bound(g),
            "kernel_weight_bytes": self.kernel_weight_bytes,  # of weight_bytes
            "inputs": [{"name": n, "shape": list(g.tensors[n].shape)} for n in g.inputs],
            "outputs": [{"name": n, "shape": list(g.tensors[n].shape)} for n in g.outputs],
            "planner": self.memory.plan.strategy, "schedule_orders": self.order_arenas,
            "schedule": self.schedule, "schedule_arenas": self.schedule_arenas,
            "peak_node": peak.name if peak else None,
            "peak_live": self.peak_live(),
            "nodes": [{"name": n.name, "op": n.op, "output_shape": list(n.output_shape), "macs": n.macs,
                       "live_bytes": n.live_bytes} for n in self.nodes],
            "harts": self.harts,
            "prefer": self.options.prefer, "ram_budget": self.options.ram_budget,
            "attention_form": attention_form(self.options, g), "attention_arenas": self.attention_arenas,
            "placement": [c.as_dict() for c in self.placement],
            # per-hart private scratch: `copies` copies of `scratch_per_hart` bytes in the arena
            "parallel_calls": [{"node": self.nodes[p.node].name, "kernel": p.kernel,
                                "scratch_per_hart": p.scratch_per_hart, "copies": p.copies}
                               for p in self.parallel],
            "patch_stage": self.patch.report() if self.patch else None,
        }


def is_int8_graph(g: Graph) -> bool:
    return any(t.dtype == DType.INT8 and not t.is_const for t in g.tensors.values())


def compile_graph(g: Graph, options: CompileOptions = CompileOptions()) -> CompiledModel:
    """Compile with `options`; with options.compete, also without integration and as the naive
    schedule, keeping the smallest arena (the first listed wins ties)."""
    if is_int8_graph(g):
        # an int8 graph calls s8 kernels whatever --dtype says; its ISA preference comes from
        # kernel_target(board, "int8") (run/build pick it), else the reference kernels
        if options.target.dtype != "s8":
            options = replace(options, target=KernelTarget("s8", ("ref",)))
    elif options.target.dtype == "s8":
        raise TargetError("--dtype int8 needs a quantised model: run `mcuforge quantize` first, or pass "
                          "a float model through compile/build/run/verify --dtype int8 (quantised on the fly)")
    if options.harts > 1:
        return _compile_parallel(g, options)
    if not options.compete:
        cm = _compile_one(g, options)
        cm.op_by_op_bytes = op_by_op_bound(_op_by_op_graph(g, options))
        return cm
    # the schedules compete memory first, the integrated one by its smaller q/k/v variant; the
    # merge's speed-for-memory trade is made only once that schedule has won (below)
    chosen, smallest = _qkv_choice(g, options, _compile_one(g, replace(options, compete=False)))
    done = {"mcuformer": smallest}
    # without integration: only where integration built something (else it is the same plan)
    if options.integrate and options.fuse and _integrated(done["mcuformer"].graph):
        done["no-integrate"] = _compile_one(g, replace(options, integrate=False, compete=False))
    # the patch stage is orthogonal to how the rest is scheduled: every competitor gets it
    done["naive"] = _compile_one(g, CompileOptions.schedule("naive", target=options.target, harts=options.harts,
                                                            stream_input=options.stream_input,
                                                            int_input=options.int_input,
                                                            patch_stage=options.patch_stage,
                                                            ram_budget=options.ram_budget))
    best = min(done, key=lambda k: done[k].arena_bytes)
    if options.ram_budget and any(c.patch for c in done.values()):
        # a patch stage under a RAM budget: of the schedules that fit, the one with the least
        # recompute (fewest MACs), then the smallest arena; memory first only where none fits
        fits = [k for k in done if done[k].arena_bytes <= options.ram_budget]
        if fits:
            best = min(fits, key=lambda k: (done[k].macs, done[k].arena_bytes))
    if best == "mcuformer":
        done["mcuformer"] = chosen
    cm = done[best]
    cm.schedule = best
    cm.schedule_arenas = {k: v.arena_bytes for k, v in done.items()}
    # the bound is the op-by-op graph's, whose maps all exist whole (not the patched one's)
    cm.op_by_op_bytes = op_by_op_bound(done["naive"].graph if done["naive"].patch is None
                                       else _op_by_op_graph(integer_input(g) if options.int_input else g, options))
    return cm


def attention_form(options: CompileOptions, g: Graph) -> str | None:
    """How the integrated attentions run: "merged" (one q|k|v linear), "apart", "heads" (head by
    head), "pairs" (two heads a piece; passes/heads.py); None without one."""
    if not any(n.op_type == "FusedAttention" for n in g.nodes):
        return None
    if options.split_heads:
        return "heads" if options.split_heads == 1 else "pairs" if options.split_heads == 2 else f"{options.split_heads} heads"
    return "merged" if options.merge_qkv else "apart"


def _qkv_choice(g: Graph, options: CompileOptions, merged: CompiledModel) -> tuple[CompiledModel, CompiledModel]:
    """(chosen, smallest) of the integrated schedule's attention forms, fastest first: q|k|v
    merged, apart, pairs of heads, head by head. Each trades speed for arena where the attention
    sets the peak (merged: its output no longer over q, N x D more; by pieces of heads: one
    piece's q/k/v live, but narrower GEMMs), so the form is chosen as toolchain/prefer.py chooses
    in/out of place: "memory" the smallest arena; "speed" the fastest that fits ram_budget (any
    without one); "auto" the fastest that fits a known budget (run/build: the board's), else
    memory first. A slower form is kept only where it is strictly smaller."""
    if not options.merge_qkv or not any(n.op_type == "FusedAttention" for n in merged.graph.nodes):
        return merged, merged
    forms, arenas = [merged], {"merged": merged.arena_bytes}
    most = max((n.params.heads for n in merged.graph.nodes if n.op_type == "FusedAttention"), default=1)
    for form, opts in (("apart", replace(options, compete=False, merge_qkv=False)),
                       ("pairs", replace(options, compete=False, merge_qkv=False, split_heads=2)),
                       ("heads", replace(options, compete=False, merge_qkv=False, split_heads=1))):
        if opts.split_heads and most <= opts.split_heads:
            continue  # no attention with more heads than a piece: the same plan as apart
        cm = _compile_one(g, opts)
        arenas[form] = cm.arena_bytes
        if cm.arena_bytes < min(f.arena_bytes for f in forms):
            forms.append(cm)
    smallest = forms[-1]
    chosen = smallest
    budget = options.ram_budget
    if options.prefer == "speed" or (options.prefer == "auto" and budget is not None):
        fits = [f for f in forms if budget is None or f.arena_bytes <= budget]
        chosen = fits[0] if fits else smallest
    for f in forms:
        f.attention_arenas = arenas
    return chosen, smallest


def _compile_parallel(g: Graph, options: CompileOptions) -> CompiledModel:
    """A build on several harts runs the one-hart program, forked: the schedule and node order
    are the ones one hart keeps (by its arena), so each output comes out of the same arithmetic
    and the bits equal one hart's. Left to compete on their own arenas, the harts' scratch
    copies can tip the choice to another schedule (DS-CNN on 8 harts went naive: no in-place
    convs, no token chain), whose sums round differently."""
    one = compile_graph(g, replace(options, harts=1))
    chosen = {"mcuformer": replace(options, compete=False, merge_qkv=one.options.merge_qkv,
                                   split_heads=one.options.split_heads),
              "no-integrate": replace(options, integrate=False, compete=False),
              "naive": CompileOptions.schedule("naive", target=options.target, harts=options.harts,
                                               stream_input=options.stream_input,
                                               int_input=options.int_input)}[one.schedule]
    order = min(one.order_arenas, key=one.order_arenas.get) if one.order_arenas else "given"  # type: ignore[arg-type]
    chosen = replace(chosen, out_of_place=frozenset(c.node for c in one.placement if not c.in_place))
    cm = _compile_one(g, chosen, order=order)
    cm.schedule, cm.schedule_arenas, cm.op_by_op_bytes = one.schedule, one.schedule_arenas, one.op_by_op_bytes
    cm.attention_arenas = one.attention_arenas
    return cm


def _op_by_op_graph(g: Graph, options: CompileOptions) -> Graph:
    """The graph an op-by-op runtime executes: the bound the report compares against."""
    if is_int8_graph(g):
        return g  # the frontend already folded bias, activation and requantisation into each op
    h = optimize(g, fuse=options.fuse, integrate=False, verify=False)
    return to_fp16(h) if options.target.dtype == "f16" else h


def _compile_one(g: Graph, options: CompileOptions, order: str | None = None) -> CompiledModel:
    """order: plan only that node order ("given" or "memory-aware"), else keep the smaller."""
    if options.int_input:
        g = integer_input(g)
        verify_graph(g)
    if is_int8_graph(g):
        if options.fuse and options.integrate:
            g = fuse_qresidual(g)  # residual conv + add over the skip's memory
            verify_graph(g)
            g = fuse_qattention(g)  # attention by blocks of query rows: no N x N scores
            verify_graph(g)
        # the float fusions have nothing to match in an integer graph (the frontend already
        # folded bias, activation and requantisation into each op)
        options = replace(options, fuse=False, integrate=False)
    # the residual conv epilogues have FP32 kernels only; the transformer integrations have both
    g = optimize(g, fuse=options.fuse, integrate=options.integrate, residual_convs=options.target.dtype == "f32",
                 merge_qkv=options.merge_qkv, split_heads=options.split_heads)
    if options.target.dtype == "f16":
        g = to_fp16(g)
        verify_graph(g)
    if options.stream_input:
        g = stream_input(g)
        verify_graph(g)
    patch = None
    if (options.patch_stage not in ("off", "fit") or (options.ram_budget or 0) > 0 and options.patch_stage == "fit") \
            and options.harts == 1:
        # every candidate stage is planned as the program will be (its bands' scratch included)
        def arena(h: Graph) -> int:
            return plan_program(h, options.target, inplace=options.inplace, overwrite=options.overwrite,
                                consume_inputs=options.overwrite, strategies=options.planner)[1].arena_bytes
        layers, rows = parse_patch_stage(options.patch_stage)
        g, patch = choose_patch_stage(g, arena, layers, over=(options.ram_budget or 0) if options.patch_stage == "fit" else 0,
                                      rows=rows)
        verify_graph(g)
    orders = {"given": g}
    if options.reorder and order in (None, "memory-aware"):
        orders["memory-aware"] = memory_aware_order(g)
    if order == "memory-aware" and "memory-aware" in orders:
        del orders["given"]
    planned = {}
    for name, h in orders.items():
        # Letting an op overwrite the model's input is what patch-embedding decomposition needs;
        # the generated API then documents that mf_model_run consumes its inputs.
        def plan(out_of_place: frozenset[str], h: Graph = h) -> tuple[object, MemoryPlan]:
            calls, mp, par = plan_program(h, options.target, inplace=options.inplace, overwrite=options.overwrite,
                                          consume_inputs=options.overwrite, strategies=options.planner,
                                          harts=options.harts, out_of_place=out_of_place)
            return (calls, par), mp
        (calls, par), mp, placement = choose(h, options.target, plan, options.prefer, options.ram_budget,
                                                options.out_of_place)  # type: ignore[misc]
        planned[name] = (h, calls, mp, par, placement)
    best = min(planned, key=lambda k: planned[k][2].arena_bytes)  # "given" wins ties
    g, calls, mp, par, placement = planned[best]
    reports = []
    mem = node_memory(g, mp.lifetimes)
    for n, m in zip(g.nodes, mem):
        op = REGISTRY.get(n.op_type)
        ins = [g.tensors[i] for i in n.inputs if i]
        outs = [g.tensors[o] for o in n.outputs if o]
        reports.append(NodeReport(n.name, n.op_type, outs[0].shape if outs else (),
                                  op.macs(n.params, ins, outs), m.live_bytes))
    if patch is not None:
        patch = replace(patch, arena_bytes=mp.arena_bytes)  # the order kept may plan it smaller
    return CompiledModel(g, mp, calls, reports, {k: v[2].arena_bytes for k, v in planned.items()}, options.target,
                         options, harts=options.harts, parallel=par, patch=patch, placement=placement)


def stream_summary(streamed: CompiledModel, whole: CompiledModel) -> dict:
    """compile --stream-input's figures: the arena with mf_model_run_rows against the same
    model taking its whole input, and the band the first op reads the image through."""
    n = next(n for n in streamed.graph.nodes if n.op_type in ("StreamIn", "PatchStageRows"))
    p, x = n.params, streamed.graph.tensors[n.inputs[0]]
    c, h, w = p.image
    return {"arena_bytes": streamed.arena_bytes, "whole_input_arena_bytes": whole.arena_bytes,
            "input_bytes": x.nbytes, "rows": h, "row_bytes": c * w * x.dtype.itemsize,
            "band_rows": p.band_h, "band_bytes": c * p.band_h * w * x.dtype.itemsize, "steps": p.steps}


def compile_model(path: str | Path | onnx.ModelProto, input_shapes: dict[str, tuple[int, ...]] | None = None,
                  options: CompileOptions = CompileOptions()) -> CompiledModel:
    g = import_model(path, input_shapes) if isinstance(path, onnx.ModelProto) else load_onnx(path, input_shapes)
    return compile_graph(g, options)


def write_sources(cm: CompiledModel, out_dir: str | Path) -> SourceSet:
    return render_sources(cm.graph, cm.memory, cm.calls, cm.macs, Path(out_dir), build_info=cm.build_info())
