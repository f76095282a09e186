"""--prefer speed|memory and the default between them (toolchain/prefer.py): which DS-CNN convs
write over their input, the arena each choice gives, that a RAM budget is never exceeded by a
choice, the report's per-layer reasons, and (QEMU) that out of place runs fewer instructions
on the M7 while all three match onnxruntime."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from click.testing import CliRunner

from conftest import REAL_MODELS
from toolchain.api import CompileOptions, compile_model
from toolchain.boards import load_board
from toolchain.cli import main
from toolchain.codegen.target import kernel_target
from toolchain.memory.checker import check_plan
from toolchain.ops import conv as conv_ops
from toolchain.run import arena_budget, run_on_board

DSCNN = REAL_MODELS["dscnn"]
M7 = "stm32f746-disco"


def _compile(prefer: str, budget: int | None, board: str = M7, dtype: str = "fp32"):
    opts = replace(CompileOptions(), target=kernel_target(load_board(board), dtype), prefer=prefer, ram_budget=budget)
    cm = compile_model(DSCNN, None, opts)
    check_plan(cm.graph, cm.memory.lifetimes, cm.memory.plan)
    return cm


def _kernels(cm) -> list[str]:
    return [c.kernel for cs in cm.calls for c in cs]


@pytest.fixture(scope="module")
def memory():
    return _compile("memory", None)


@pytest.fixture(scope="module")
def speed():
    return _compile("speed", None)


def test_memory_is_the_smallest_arena_and_speed_takes_no_overwrite(memory, speed) -> None:
    # every depthwise/pointwise conv over its input: about half of the op-by-op bound (64,000 B)
    assert memory.arena_bytes < 0.6 * speed.arena_bytes
    assert speed.arena_bytes >= 64_000  # two 32,000-byte maps live across each conv
    assert len(memory.placement) == 8 and all(c.in_place for c in memory.placement)
    assert len(speed.placement) == 8 and not any(c.in_place for c in speed.placement)
    assert sum("conv2d_overwrite" in k for k in _kernels(memory)) == 8
    assert not any("conv2d_overwrite" in k for k in _kernels(speed))


def test_default_under_a_tight_budget_keeps_every_conv_in_place(memory) -> None:
    cm = _compile("auto", memory.arena_bytes)  # exactly what all in place needs
    assert cm.arena_bytes == memory.arena_bytes
    assert all(c.in_place for c in cm.placement)
    faster = [c for c in cm.placement if c.speedup > 1.0]
    assert faster, "the M7 table has out-of-place kernels that are faster"
    assert all(c.why.startswith("in place: saves") and c.bytes > 0 for c in faster)


def test_default_under_a_loose_budget_takes_the_faster_kernels(memory) -> None:
    budget = arena_budget(load_board(M7))
    cm = _compile("auto", budget)
    assert memory.arena_bytes < cm.arena_bytes <= budget
    for c in cm.placement:  # out of place exactly where the table says it is faster
        assert c.in_place == (c.speedup <= 1.0), c
    assert any(not c.in_place for c in cm.placement)


def test_a_budget_is_never_exceeded(memory, speed) -> None:
    # in DS-CNN any one conv out of place keeps two 32,000-byte maps live: the arena jumps to
    # the all-out-of-place one, so one byte less than that keeps every conv in place
    tight = _compile("speed", speed.arena_bytes - 1)
    assert tight.arena_bytes == memory.arena_bytes and all(c.in_place for c in tight.placement)
    need = speed.arena_bytes - memory.arena_bytes
    assert all(c.why == f"in place: saves {need:,} B, needed to fit {speed.arena_bytes - 1:,} B" for c in tight.placement)
    exact = _compile("speed", speed.arena_bytes)
    assert exact.arena_bytes == speed.arena_bytes and not any(c.in_place for c in exact.placement)


def test_auto_follows_the_speed_table(monkeypatch: pytest.MonkeyPatch, memory) -> None:
    monkeypatch.setattr(conv_ops, "OVERWRITE_SLOWDOWN", {})  # nothing faster out of place
    cm = _compile("auto", 1 << 20)
    assert cm.arena_bytes == memory.arena_bytes and all(c.in_place for c in cm.placement)
    assert all("not faster" in c.why for c in cm.placement)


def test_speed_keeps_a_conv_in_place_where_the_overwrite_kernel_is_faster(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conv_ops, "OVERWRITE_SLOWDOWN", {("depthwise", "f32", "dsp"): 0.5,
                                                         ("pointwise", "f32", "dsp"): 1.5})
    cm = _compile("speed", None)
    assert {c.kind for c in cm.placement if c.in_place} == {"depthwise"}
    assert {c.kind for c in cm.placement if not c.in_place} == {"pointwise"}
    assert all(c.why == "in place: the overwrite kernel is faster (2.00x)" for c in cm.placement if c.in_place)


def test_compile_reports_each_choice_in_json(tmp_path) -> None:
    r = CliRunner().invoke(main, ["compile", str(DSCNN), "-o", str(tmp_path / "o"), "--json", "--prefer", "speed",
                                  "--ram-budget", "40K"])
    assert r.exit_code == 0, r.output
    rep = json.loads(r.output)
    assert rep["prefer"] == "speed" and rep["ram_budget"] == 40_960
    assert len(rep["placement"]) == 8  # 40 KB cannot hold any conv out of place (see above)
    assert {c["choice"] for c in rep["placement"]} == {"in place"}
    assert all(c["why"] and c["kind"] in ("depthwise", "pointwise") for c in rep["placement"])


def test_compile_text_report_and_bad_budget(tmp_path) -> None:
    r = CliRunner().invoke(main, ["compile", str(DSCNN), "-o", str(tmp_path / "o"), "--prefer", "memory"])
    assert r.exit_code == 0, r.output
    assert "--prefer memory" in r.output and "in place: --prefer memory" in r.output
    r = CliRunner().invoke(main, ["compile", str(DSCNN), "-o", str(tmp_path / "p"), "--ram-budget", "lots"])
    assert r.exit_code == 2
    assert "error:" in r.output and "Traceback" not in r.output


@pytest.mark.parametrize("prefer", ["auto", "speed", "memory"])
def test_every_choice_matches_onnxruntime_on_the_host(prefer: str, tmp_path) -> None:
    r = run_on_board(DSCNN, "host", tmp_path, options=replace(CompileOptions(), prefer=prefer, ram_budget=48 * 1024),
                     seed=3)
    assert r.match, r.max_abs_error


@pytest.mark.qemu
@pytest.mark.slow
def test_on_the_m7_speed_runs_fewer_instructions_and_all_three_match(tmp_path) -> None:
    runs = {p: run_on_board(DSCNN, M7, tmp_path / p, options=replace(CompileOptions(), prefer=p), seed=5,
                            timeout=1800)
            for p in ("memory", "speed", "auto")}
    assert all(r.match for r in runs.values()), {p: r.max_abs_error for p, r in runs.items()}
    assert runs["memory"].arena_bytes < runs["speed"].arena_bytes
    assert runs["speed"].cost < runs["memory"].cost
    # 320 KB is loose for DS-CNN: the default takes the faster kernels, like speed
    assert runs["auto"].cost <= runs["memory"].cost
