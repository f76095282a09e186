"""Per-layer profile (`run --sim --profile`): per-node counts that add up to the inference's
count, identical run to run, a Chrome trace whose durations add up, and a regress that names
the layer that grew. Issue 16, part 1."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REAL_MODELS
from fixtures.sim_support import require_tools
from toolchain.boards import load_board
from toolchain.profile import LayerCost, chrome_trace
from toolchain.regress import compare_baseline, layer_figures

LAYER_KEYS = {"node", "op", "kernel", "instructions", "macs", "live_bytes", "instructions_per_mac"}


def _cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "toolchain.cli", *args], capture_output=True, text=True,
                          timeout=900, cwd=cwd)


def _profile(model: str, board: str, tmp: Path, trace: bool = False) -> dict:
    require_tools(load_board(board))
    extra = ["--trace-out", str(tmp / "trace.json")] if trace else []
    r = _cli("run", str(REAL_MODELS[model]), "--board", board, "--sim", "--profile", "--json", *extra)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def _check_sum(d: dict, weighted: bool, key: str | None = None) -> None:
    """Layers add up to the total of `key` (default: the LMUL-weighted count on RVV)."""
    layers = d["layers"]
    assert d["match"]
    key = key or ("weighted_instructions" if weighted else "instructions")
    total = d[key]
    assert total and total > 0
    covered = sum(x[key] for x in layers)
    # the rest is the call of mf_model_run and one call instruction per node
    assert abs(total - covered) <= 0.01 * total, (covered, total)
    assert covered <= total
    for x in layers:
        assert LAYER_KEYS <= set(x), x
        assert ("weighted_instructions" in x) == weighted
        if x["kernel"] != "view":  # a node that runs a kernel executes far more than a call
            assert x["instructions"] > 20, x
        if weighted:
            assert x["weighted_instructions"] >= x["instructions"]
    assert sum(x["macs"] for x in layers) == d["macs"]


@pytest.mark.qemu
def test_dscnn_profile_on_m7_adds_up_is_deterministic_and_traces(tmp_path: Path) -> None:
    first = _profile("dscnn", "stm32f746-disco", tmp_path, trace=True)
    _check_sum(first, weighted=False)
    assert first["weighted_instructions"] is None
    kernels = {x["kernel"] for x in first["layers"]}
    assert "mf_conv2d_f32_dsp" in kernels  # the board's register-blocked kernel, named
    second = _profile("dscnn", "stm32f746-disco", tmp_path / "again")
    assert [x["instructions"] for x in second["layers"]] == [x["instructions"] for x in first["layers"]]
    assert second["instructions"] == first["instructions"]

    trace = json.loads((tmp_path / "trace.json").read_text())
    spans = [e for e in trace["traceEvents"] if e["ph"] == "X"]
    assert [e["name"] for e in spans] == [x["node"] for x in first["layers"]]
    assert sum(e["dur"] for e in spans) == sum(x["instructions"] for x in first["layers"])
    for a, b in zip(spans, spans[1:]):  # back to back on one track: instructions as time
        assert b["ts"] == a["ts"] + a["dur"]
    assert trace["otherData"]["time_unit"] == "instructions"


@pytest.mark.qemu
def test_vit_profile_on_rvv_is_lmul_weighted_and_adds_up(tmp_path: Path) -> None:
    d = _profile("vit_opset18", "rv32-rvv", tmp_path)
    _check_sum(d, weighted=True)
    _check_sum(d, weighted=True, key="instructions")
    ops = [x["op"] for x in d["layers"]]
    assert "FusedAttention" in ops and "PatchEmbed" in ops
    # vector work shows: some layer counts more LMUL-weighted than plain
    assert any(x["weighted_instructions"] > x["instructions"] for x in d["layers"])


@pytest.mark.qemu
@pytest.mark.slow
@pytest.mark.parametrize("board", ["stm32f746-disco", "rv32-rvv"])
@pytest.mark.parametrize("model", ["resnet8", "dscnn", "vit_opset18"])
def test_profile_must_show(model: str, board: str, tmp_path: Path) -> None:
    d = _profile(model, board, tmp_path)
    weighted = d["weighted_instructions"] is not None
    assert weighted == (load_board(board).core.simd == "rvv")
    _check_sum(d, weighted)


@pytest.mark.qemu
def test_regress_names_the_layer_that_grew(tmp_path: Path) -> None:
    require_tools(load_board("stm32f746-disco"))
    model = REAL_MODELS["dscnn"]
    base = tmp_path / "base.json"
    r = _cli("regress", str(model), "--boards", "stm32f746-disco", "--baseline", str(base))
    assert r.returncode == 0, r.stdout + r.stderr
    stored = json.loads(base.read_text())
    figures = stored[f"{model.name}@stm32f746-disco"]
    # pretend the baseline's first depthwise conv was a third cheaper: only it has regressed
    victim = max(figures["layers"], key=lambda k: figures["layers"][k])
    figures["layers"][victim] = figures["layers"][victim] * 2 // 3
    base.write_text(json.dumps(stored))
    r = _cli("regress", str(model), "--boards", "stm32f746-disco", "--baseline", str(base))
    assert r.returncode == 1
    line = next(ln for ln in r.stdout.splitlines() if ln.startswith("REGRESSED"))
    assert f"layer {victim} " in line and "+50.0%" in line
    assert line.count("layer ") == 1


def _layer(i: int, name: str, cost: int) -> LayerCost:
    return LayerCost(i, name, "Conv", "mf_conv2d_f32_ref", cost, None, 100, 64)


def test_compare_layers_ignores_tiny_growth_and_ranks_the_worst_first() -> None:
    old = layer_figures([_layer(0, "a", 1000), _layer(1, "view", 2), _layer(2, "b", 5000)])
    new = layer_figures([_layer(0, "a", 1300), _layer(1, "view", 4), _layer(2, "b", 9000)])
    worse = compare_baseline({"instructions": 6002, "layers": new}, {"instructions": 6002, "layers": old}, 0.02)
    assert worse == ["layer b 5,000 -> 9,000 (+80.0%)", "layer a 1,000 -> 1,300 (+30.0%)"]


def test_layer_figures_keeps_nodes_of_the_same_name_apart() -> None:
    assert layer_figures([_layer(0, "x", 1), _layer(1, "x", 2)]) == {"x": 1, "x#2": 2}


def test_trace_of_no_layers_is_still_a_trace() -> None:
    t = chrome_trace([], "m.onnx", "b")
    assert t["otherData"]["total"] == 0 and all(e["ph"] == "M" for e in t["traceEvents"])


@pytest.mark.parametrize("args,message", [
    (["--board", "host", "--profile"], "error: --profile counts instructions in QEMU; board host has no QEMU machine"),
    (["--board", "stm32f746-disco", "--trace-out", "t.json"], "error: --trace-out needs --profile"),
])
def test_profile_mistakes_are_one_line(args: list[str], message: str) -> None:
    r = _cli("run", str(REAL_MODELS["dscnn"]), "--sim", *args)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and r.stderr.startswith(message), r.stderr
