"""The planner and its independent checker: exact invariants, on real graphs and on random
buffer sets, plus the checker catching plans that are wrong on purpose."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import REAL_MODELS
from toolchain.api import CompileOptions, compile_model
from toolchain.memory import ALIGN, Buffer, Plan, PlanError, check_plan, compute_lifetimes, plan, plan_memory
from toolchain.memory.report import naive_bytes, node_memory, op_by_op_bound
from toolchain.frontend import load_onnx
from toolchain.passes import optimize


def _no_overlap(buffers: list[Buffer], p: Plan) -> None:
    for i, a in enumerate(buffers):
        for b in buffers[i + 1:]:
            if a.overlaps_in_time(b) and a.size and b.size:
                oa, ob = p.offsets[a.id], p.offsets[b.id]
                assert oa + a.size <= ob or ob + b.size <= oa, (a, b, oa, ob)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 5000), st.integers(0, 30), st.integers(0, 10)), min_size=1, max_size=40))
def test_greedy_plan_never_overlaps(spec: list[tuple[int, int, int]]) -> None:
    buffers = [Buffer(i, size, start, start + length) for i, (size, start, length) in enumerate(spec)]
    p = plan(buffers)
    _no_overlap(buffers, p)
    assert all(p.offsets[b.id] % ALIGN == 0 for b in buffers)
    assert p.arena_bytes % ALIGN == 0
    # never worse than no reuse, never better than the busiest step
    assert p.arena_bytes <= sum(-(-b.size // ALIGN) * ALIGN for b in buffers)
    busiest = max(sum(b.size for b in buffers if b.start <= t <= b.end) for t in range(0, 41))
    assert p.arena_bytes >= busiest


@pytest.mark.parametrize("name", list(REAL_MODELS))
def test_real_model_plans_check_and_bound(name: str) -> None:
    cm = compile_model(REAL_MODELS[name])
    g, mp = cm.graph, cm.memory
    check_plan(g, mp.lifetimes, mp.plan)
    live = [m.live_bytes for m in node_memory(g, mp.lifetimes)]
    assert mp.arena_bytes >= max(live)
    assert mp.arena_bytes <= naive_bytes(g) + ALIGN * len(mp.lifetimes.buffers) + cm.scratch_bytes
    # Op by op (no aliasing) nothing can go below the busiest node; the naive schedule honours it.
    naive = compile_model(REAL_MODELS[name], options=CompileOptions.schedule("naive"))
    assert op_by_op_bound(naive.graph) <= naive.arena_bytes


def test_exact_arena_of_resnet8_and_dscnn() -> None:
    # Exact figures: a change in the planner or a pass shows up here first. The full schedule
    # writes ResNet-8's residual convs over their skips and DS-CNN's depthwise/pointwise convs
    # over their inputs (tests/test_cnn_inplace.py); the naive one is op by op.
    assert compile_model(REAL_MODELS["resnet8"]).arena_bytes == 133632
    assert compile_model(REAL_MODELS["dscnn"]).arena_bytes == 34048
    naive = CompileOptions.schedule("naive")
    assert compile_model(REAL_MODELS["resnet8"], options=naive).arena_bytes == 196608
    assert compile_model(REAL_MODELS["dscnn"], options=naive).arena_bytes == 64000


def test_checker_rejects_an_overlapping_plan() -> None:
    g = optimize(load_onnx(REAL_MODELS["resnet8"]))
    lt = compute_lifetimes(g)
    good = plan(lt.buffers)
    # Put every buffer at offset 0: live buffers now overlap.
    bad = Plan({k: 0 for k in good.offsets}, good.arena_bytes)
    with pytest.raises(PlanError, match="overlaps"):
        check_plan(g, lt, bad)


def test_checker_rejects_a_misaligned_or_outside_plan() -> None:
    g = optimize(load_onnx(REAL_MODELS["dscnn"]))
    lt = compute_lifetimes(g)
    good = plan(lt.buffers)
    shifted = Plan({k: v + 4 for k, v in good.offsets.items()}, good.arena_bytes + 4)
    with pytest.raises(PlanError, match="aligned"):
        check_plan(g, lt, shifted)
    small = Plan(good.offsets, good.arena_bytes - ALIGN)
    with pytest.raises(PlanError, match="outside the arena"):
        check_plan(g, lt, small)


def test_checker_rejects_an_illegal_inplace_alias() -> None:
    from toolchain.memory.lifetimes import Alias

    g = optimize(load_onnx(REAL_MODELS["resnet8"]))
    lt = compute_lifetimes(g)
    conv = next(n for n in g.nodes if n.op_type == "Conv")
    lt.aliases.append(Alias(conv.outputs[0], conv.inputs[0], conv.name, "inplace"))
    with pytest.raises(PlanError, match="cannot run inplace"):
        check_plan(g, lt, plan(lt.buffers))


def test_inplace_and_views_share_buffers() -> None:
    g = optimize(load_onnx(REAL_MODELS["vit_opset18"]), integrate=False)
    mp = plan_memory(g)
    assert {a.kind for a in mp.lifetimes.aliases} == {"view", "inplace"}
    off = plan_memory(g, inplace=False)
    assert mp.arena_bytes < off.arena_bytes


def test_patch_embedding_overwrites_the_consumed_input() -> None:
    cm = compile_model(REAL_MODELS["lowrank_vit"])
    kinds = {(a.kind, cm.graph.nodes[[n.name for n in cm.graph.nodes].index(a.node)].op_type)
             for a in cm.memory.lifetimes.aliases}
    assert ("overwrite", "PatchEmbed") in kinds and ("inplace", "FusedAttention") in kinds
    x = cm.graph.inputs[0]
    # The token stream starts where the image was: same base offset, 150528 -> 25600 bytes.
    tokens = next(n.outputs[0] for n in cm.graph.nodes if n.op_type == "PatchEmbed")
    assert cm.memory.offset(tokens) == cm.memory.offset(x)
    # Nothing but the input and one patch row of scratch is live at the peak.
    assert cm.arena_bytes == cm.graph.tensors[x].nbytes + 7 * 128 * 4
