"""The RISC-V cluster board (rv32-rvv-x8, issue 17): the fork/join runtime, the parallel
kernel twins, per-hart counting and the span.

host: each par_* twin against its plain kernel, bit for bit, with the splits of 1, 3 and 8
harts (mf_cluster_serial.c plays the harts in turn); the board record, --harts errors, and
the planner's per-hart scratch.
qemu: ResNet-8 (FP32, FP16) and DS-CNN on 8 harts give the 1-hart bits and, for ResNet-8, a
span of at most 1/6 of the 1-hart count; the same run twice gives the same per-hart counts;
injected per-hart start delays change neither the outputs nor the per-hart work.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from conftest import REAL_MODELS
from fixtures.sim_support import require_tools
from toolchain.api import CompileOptions, compile_model
from toolchain.boards import load_board
from toolchain.codegen.emit import RUNTIME
from toolchain.codegen.parallel import par_name
from toolchain.codegen.target import kernel_target
from toolchain.build.host import host_cc
from toolchain.memory.checker import check_plan
from toolchain.run import run_cluster, run_on_board
from toolchain.sim.cluster import HartsError, resolve_harts

ROOT = Path(__file__).resolve().parents[1]
BOARD = "rv32-rvv-x8"


# ---------------------------------------------------------------- host

@pytest.mark.parametrize("harts", [1, 3, 8])
def test_par_twins_match_plain_kernels(harts: int, tmp_path: Path) -> None:
    exe = tmp_path / "par_check"
    srcs = [str(p) for p in sorted((RUNTIME / "src").glob("*.c"))]
    subprocess.run([host_cc(), "-std=c11", "-Wall", "-Wextra", "-Werror", "-O2", f"-DMF_HARTS={harts}",
                    f"-I{RUNTIME / 'include'}", f"-I{RUNTIME / 'src'}", str(ROOT / "tests" / "cluster" / "par_check.c"),
                    str(RUNTIME / "board" / "mf_cluster_serial.c"), *srcs, "-lm", "-o", str(exe)],
                   check=True, capture_output=True, text=True)
    out = subprocess.run([str(exe)], capture_output=True, text=True, timeout=120).stdout.splitlines()
    assert out[-1] == "PAR_CHECK 0", [line for line in out if line.startswith("FAIL")]
    # every case ran: 9 shapes x 3 activations (conv), residual for groups 1 (7 shapes),
    # overwrite FP32 + FP16 where the shape allows it (the depthwise and the 1x1 stride-1
    # shapes), 4 pool and 2 binary cases
    assert sum(line.startswith("ok") for line in out) == 27 + 21 + 2 * 3 * 2 + 6


def test_board_record_and_harts() -> None:
    b = load_board(BOARD)
    assert b.cluster is not None and b.cluster.harts == 8 and b.max_harts == 8
    assert b.startup == "riscv_cluster" and b.core.simd == "rvv"
    assert resolve_harts(b, None) == 8 and resolve_harts(b, 3) == 3
    with pytest.raises(HartsError, match="has 8 harts"):
        resolve_harts(b, 9)
    with pytest.raises(HartsError, match="not a cluster"):
        resolve_harts(load_board("rv32-rvv"), 2)
    assert resolve_harts(load_board("rv32-rvv"), None) == 1


@pytest.mark.parametrize("args", [["--board", BOARD, "--harts", "9"], ["--board", BOARD, "--harts", "0"],
                                  ["--board", "rv32-rvv", "--harts", "2"]])
def test_bad_harts_is_one_error_line(args: list[str]) -> None:
    r = subprocess.run([sys.executable, "-m", "toolchain.cli", "run", str(REAL_MODELS["resnet8"]), *args],
                       capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --harts"), r.stderr


def test_par_names() -> None:
    assert par_name("mf_conv2d_f32_dsp") == "mf_conv2d_par_f32_dsp"
    assert par_name("mf_conv2d_residual_f32_dsp") == "mf_conv2d_residual_par_f32_dsp"
    assert par_name("mf_avgpool2d_f16_ref") == "mf_avgpool2d_par_f16_ref"
    assert par_name("not_a_kernel") is None


@pytest.mark.parametrize("dtype", ["fp32", "fp16"])
def test_planner_reserves_per_hart_scratch(dtype: str) -> None:
    b = load_board(BOARD)
    one = compile_model(REAL_MODELS["resnet8"], options=CompileOptions(target=kernel_target(b, dtype), compete=False))  # type: ignore[arg-type]
    eight = compile_model(REAL_MODELS["resnet8"], options=CompileOptions(target=kernel_target(b, dtype), harts=8, compete=False))  # type: ignore[arg-type]
    check_plan(eight.graph, eight.memory.lifetimes, eight.memory.plan)
    rep = eight.report()
    assert rep["harts"] == 8
    calls = rep["parallel_calls"]
    # every conv of ResNet-8 runs in parallel (9 of them), and the pool
    assert sum("conv2d" in c["kernel"] for c in calls) == 9
    assert any("avgpool2d_par" in c["kernel"] for c in calls)
    lt1, lt8 = one.memory.lifetimes, eight.memory.lifetimes
    shared = 0
    for c in calls:
        node = next(i for i, n in enumerate(eight.nodes) if n.name == c["node"])
        if c["scratch_per_hart"]:
            # the RVV FP32 conv and residual conv run maps of fewer 16-pixel chunks than harts
            # (ResNet-8's 8x8 stage) on one shared panel: one copy; other twins 8 private copies
            out = eight.graph.tensors[eight.graph.nodes[node].outputs[0]].shape
            small = (c["kernel"] in ("mf_conv2d_par_f32_rvv", "mf_conv2d_residual_par_f32_rvv")
                     and out[2] * out[3] <= 7 * 16)
            assert c["copies"] == (1 if small else 8), (c, out)
            shared += small
            # exactly that many copies of the one-hart scratch of the same node
            assert lt8.scratch[node] == c["copies"] * c["scratch_per_hart"] == c["copies"] * lt1.scratch[node]
    assert shared == (3 if dtype == "fp32" else 0)  # the convs of the 8x8 stage, residual included
    assert eight.arena_bytes >= one.arena_bytes


# ---------------------------------------------------------------- qemu

@pytest.fixture(scope="module")
def cluster_board():  # type: ignore[no-untyped-def]
    b = load_board(BOARD)
    require_tools(b)
    return b


@pytest.mark.qemu
@pytest.mark.slow
@pytest.mark.parametrize("dtype", ["fp32", "fp16"])
def test_resnet8_on_8_harts(cluster_board, dtype: str) -> None:  # type: ignore[no-untyped-def]
    r = run_cluster(REAL_MODELS["resnet8"], cluster_board, 8, dtype=dtype)
    x = r.extra
    assert r.match, r.outputs  # onnxruntime, FP16 within its tolerance
    assert x["matches_one_hart"]  # bit for bit the 1-hart output
    assert x["harts"] == 8 and len(x["instructions_per_hart"]) == 8
    assert min(x["instructions_per_hart"]) > 0  # every hart worked
    assert x["span_instructions"] * 6 <= x["one_hart_instructions"], x
    assert x["span_instructions"] >= max(x["instructions_per_hart"]) - x["serial_instructions"]
    assert 0.75 <= x["parallel_efficiency"] <= 1.0


@pytest.mark.qemu
@pytest.mark.slow
def test_dscnn_on_8_harts(cluster_board) -> None:  # type: ignore[no-untyped-def]
    r = run_cluster(REAL_MODELS["dscnn"], cluster_board, 8)
    assert r.match and r.extra["matches_one_hart"]
    assert r.extra["span_instructions"] * 4 <= r.extra["one_hart_instructions"]


def _small_net(path: Path) -> Path:
    """A conv (3x3, tails: 10x10 = 100 pixels), a pointwise conv, an add and a global pool."""
    rng = np.random.default_rng(0)

    def init(name: str, shape: tuple[int, ...]) -> onnx.TensorProto:
        return helper.make_tensor(name, TensorProto.FLOAT, shape, rng.standard_normal(shape).astype(np.float32).ravel())

    nodes = [helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c1"], ["r1"]),
             helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"]),
             helper.make_node("Add", ["c2", "r1"], ["a"]),
             helper.make_node("GlobalAveragePool", ["a"], ["y"])]
    g = helper.make_graph(nodes, "small", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 5, 10, 10])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 12, 1, 1])],
                          [init("w1", (12, 5, 3, 3)), init("b1", (12,)), init("w2", (12, 12, 1, 1)), init("b2", (12,))])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)
    return path


def _determinism(cluster_board, tmp_path: Path, seeds: list[int]) -> None:  # type: ignore[no-untyped-def]
    model = _small_net(tmp_path / "small.onnx")
    first = run_on_board(model, cluster_board, harts=8)
    again = run_on_board(model, cluster_board, harts=8)
    assert first.match and first.extra["regions"] >= 3
    for key in ("instructions_per_hart", "span_instructions", "outputs_sha256"):
        assert first.extra[key] == again.extra[key], key
    for seed in seeds:
        r = run_on_board(model, cluster_board, harts=8, delay_seed=seed)
        # the delays run in the waiting code: they shuffle which hart runs when, and change
        # neither a bit of the output nor a hart's work
        assert r.extra["outputs_sha256"] == first.extra["outputs_sha256"], seed
        assert r.extra["instructions_per_hart"] == first.extra["instructions_per_hart"], seed


@pytest.mark.qemu
def test_deterministic_under_start_delays(cluster_board, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _determinism(cluster_board, tmp_path, [1, 2, 3])


@pytest.mark.qemu
@pytest.mark.slow
def test_deterministic_under_20_start_delays(cluster_board, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _determinism(cluster_board, tmp_path, list(range(11, 31)))


@pytest.mark.qemu
@pytest.mark.slow
def test_resnet8_last_layers_training_on_8_harts(cluster_board) -> None:  # type: ignore[no-untyped-def]
    from toolchain.train.api import train_cluster

    r = train_cluster(REAL_MODELS["resnet8"], BOARD, 8, trainable="last:2", steps=2)
    c = r.cluster
    assert r.match  # PyTorch's loss trajectory within the FP32 tolerance
    assert c is not None and c["loss_equals_one_hart"]  # and the 1-hart one bit for bit
    assert c["harts"] == 8 and min(c["instructions_per_hart"]) > 0
    assert c["span_instructions"] * 6 <= c["one_hart_instructions"], c
