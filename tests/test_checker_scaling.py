"""The O(n log n) plan checker and planner give the same verdicts as the quadratic ones they
replaced (issue 11: 88% of a 6,000-node compile was the checker's alias loop).

A brute-force reference (every pair of tensors, every alias against every tensor) judges
plans of real models with buffers moved at random; the fast checker must agree on each.
The compile-time curve itself is printed by bench/compile_time.py, not asserted here.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

from conftest import REAL_MODELS
from toolchain.frontend import load_onnx
from toolchain.memory import Plan, PlanError, check_plan, compute_lifetimes, plan
from toolchain.memory.lifetimes import SCRATCH, tensor_ranges
from toolchain.memory.planner import ALIGN, lowest_fit
from toolchain.passes import optimize


def _bench(name: str):
    """A bench/ script as a module, without putting bench/ on sys.path (its profile.py would
    shadow the standard library's)."""
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "bench" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"bench_{name}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _brute_overlaps(g, lt, p: Plan) -> bool:
    """True when two tensors of different alias groups, live at a common step, share bytes,
    or an in-place write is not the last use of its memory: the old quadratic definition."""
    rng = tensor_ranges(g)
    nbytes = {t: g.tensors[t].nbytes for t in rng}
    for i, n in lt.scratch.items():
        if n > 0:
            rng[f"{SCRATCH}{i}"] = (i, i)
            nbytes[f"{SCRATCH}{i}"] = n
    off = {t: p.offsets[b] for t, b in lt.tensor_buffer.items()}
    same = {a.tensor: a.source for a in lt.aliases}

    def group(t):
        while t in same:
            t = same[t]
        return t

    step_of = {n.name: i for i, n in enumerate(g.nodes)}
    for a in lt.aliases:
        if a.kind == "view":
            continue
        i = step_of[a.node]
        if any(group(t) == group(a.source) and rng[t][0] < i < rng[t][1] for t in rng):
            return True
    names = [t for t in rng if nbytes[t] > 0]
    for x in range(len(names)):
        for y in range(x + 1, len(names)):
            t, u = names[x], names[y]
            (s1, e1), (s2, e2) = rng[t], rng[u]
            if s1 <= e2 and s2 <= e1 and group(t) != group(u):
                if off[t] < off[u] + nbytes[u] and off[u] < off[t] + nbytes[t]:
                    return True
    return False


@pytest.mark.parametrize("name", ["resnet8", "dscnn", "vit_opset18"])
def test_fast_checker_agrees_with_brute_force(name: str) -> None:
    g = optimize(load_onnx(REAL_MODELS[name]))
    lt = compute_lifetimes(g, consume_inputs=True)
    good = plan(lt.buffers)
    check_plan(g, lt, good)
    assert not _brute_overlaps(g, lt, good)
    rnd = random.Random(11)
    ids = sorted(good.offsets)
    verdicts = []
    for _ in range(60):
        offs = dict(good.offsets)
        for b in rnd.sample(ids, k=min(len(ids), rnd.choice([1, 2, 4]))):
            offs[b] = rnd.randrange(0, max(good.arena_bytes // ALIGN, 1)) * ALIGN
        p = Plan(offs, good.arena_bytes * 2)
        want = _brute_overlaps(g, lt, p)
        try:
            check_plan(g, lt, p)
            got = False
        except PlanError as e:
            assert "overlaps" in str(e) or "still read" in str(e), e
            got = True
        assert got == want
        verdicts.append(got)
    assert any(verdicts) and not all(verdicts)  # both verdicts were exercised


def test_windowed_placement_equals_full_scan() -> None:
    """The planner compares a buffer only with the placed buffers that can be live with it;
    the offsets are those of a scan over every placed buffer."""
    g = optimize(load_onnx(REAL_MODELS["vit_opset18"]))
    lt = compute_lifetimes(g)
    for strategy in ("greedy-by-size", "greedy-by-start", "greedy-by-lifetime"):
        fast = plan(lt.buffers, strategies=(strategy,))
        from toolchain.memory.planner import STRATEGIES

        placed, offs = [], {}
        for b in sorted(lt.buffers, key=STRATEGIES[strategy]):
            if b.size == 0:
                offs[b.id] = 0
                continue
            offs[b.id] = lowest_fit(b, placed, ALIGN)
            placed.append((b, offs[b.id]))
        assert fast.offsets == offs


def test_long_chain_plans_and_checks() -> None:
    """A 1,500-node chain (the bench's shape) compiles and its plan passes the checker."""
    r = _bench("compile_time").measure(1500)
    assert r["runtime_nodes"] == 1501 and r["arena_bytes"] == 512
