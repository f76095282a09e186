"""Fork/join twins against their one-hart kernels, bit for bit: the RVV FP32 convs
(runtime_c/src/par_conv_f32.c over conv_f32_rvv.c and depthwise_f32_rvv.c of issue 19), the
training twins (par_train.c: conv input/weight gradients, depthwise, Adam), matmul/linear
(par_gemm.c) and softmax/LayerNorm (par_norm.c) in FP32 and FP16, in one firmware binary on the
cluster board: the harts really run concurrently under QEMU (-smp), with 8 harts and with 3
(uneven splits). The fixture (tests/kernels/par_rvv.c, on the kernel-harness protocol) writes one
word per case.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from fixtures.sim_support import require_tools
from toolchain.boards import load_board
from toolchain.codegen import copy_runtime
from toolchain.ops.kernel_table import KERNELS, sources_for

sys.path.insert(0, str(Path(__file__).resolve().parent / "kernels"))
from harness import Case, run  # noqa: E402

FIXTURE = Path(__file__).resolve().parent / "kernels" / "par_rvv.c"
BOARD = "rv32-rvv-x8"
TWINS = {"mf_copy_par_f32_ref", "mf_copy_par_f16_ref", "mf_avgpool2d_bwd_input_par_f32_ref",
         "mf_maxpool2d_bwd_input_par_f16_ref", "mf_gemm_par_f32_ref", "mf_gemm_par_f32_rvv", "mf_gemm_par_f16_ref", "mf_gemm_par_f16_rvv",
         "mf_softmax_par_f32_ref", "mf_softmax_par_f16_ref", "mf_softmax_par_f16_rvv", "mf_layernorm_par_f32_ref",
         "mf_layernorm_par_f16_ref", "mf_layernorm_par_f16_rvv", "mf_conv2d_par_f32_rvv", "mf_conv2d_residual_par_f32_rvv", "mf_conv2d_overwrite_par_f32_rvv",
         "mf_depthwise_par_f32_rvv", "mf_conv2d_bwd_input_par_f32_rvv", "mf_conv2d_bwd_weight_par_f32_rvv",
         "mf_adam_update_par_f32_ref", "mf_conv2d_bwd_input_par_f16_rvv", "mf_conv2d_bwd_weight_par_f16_rvv",
         "mf_sgd_update_par_f16_ref", "mf_adam_update_par_f16_ref", "mf_act_bwd_input_par_f16_ref"}
# (c_in, c_out, groups, k, stride, pad, h, w) as in model.c
CONVS = [(16, 16, 1, 3, 1, 1, 16, 16), (3, 16, 1, 3, 1, 1, 13, 11), (16, 32, 1, 1, 2, 0, 16, 16),
         (32, 64, 1, 3, 2, 0, 16, 16), (32, 32, 1, 3, 1, 1, 8, 8), (24, 40, 1, 1, 1, 0, 5, 7),
         (24, 23, 1, 1, 1, 0, 9, 9), (12, 8, 4, 3, 2, 1, 9, 11), (5, 7, 1, 3, 1, 1, 3, 3),
         (64, 64, 64, 3, 1, 1, 25, 5), (24, 24, 24, 3, 1, 1, 9, 13), (16, 16, 16, 3, 2, 1, 9, 9),
         (8, 8, 8, 3, 1, 1, 6, 20)]


def expected_cases() -> np.ndarray:
    """1 where model.c runs a case (conv, residual, overwrite, depthwise per shape and act), else -1."""
    out = []
    for ci, co, g, k, s, p, h, w in CONVS:
        dw = g == ci == co
        pointwise = k == 1 and s == 1 and p == 0
        overwrite = dw or (pointwise and g == 1)  # batch 1: the pointwise overwrite always applies
        out += [[1, 1 if g == 1 else -1, 1 if overwrite else -1, 1 if dw else -1]] * 3
    return np.array(out, np.float32).ravel()


def expected_train_cases() -> np.ndarray:
    """1 per bwd_input / bwd_weight case (groups 1 or depthwise), -1 for the other groupings; Adam."""
    out = []
    for ci, co, g, *_ in CONVS:
        out += [1 if g == 1 or g == ci == co else -1] * 2
    return np.array([*out, 1], np.float32)


@pytest.mark.qemu
@pytest.mark.parametrize("harts", [8, 3])
def test_rvv_f32_twins_bit_exact_on_cluster(harts: int, tmp_path: Path) -> None:
    board = load_board(BOARD)
    require_tools(board)
    assert TWINS <= set(KERNELS)
    rt = copy_runtime(tmp_path / "files", TWINS)
    assert {"par_conv_f32.c", "conv_f32_rvv.c", "depthwise_f32_rvv.c"} <= {Path(f).name for f in rt}
    assert set(sources_for(TWINS)) >= {"par_conv_f32.c", "gemm_f32_rvv.c"}
    outputs = {"convs": len(expected_cases()), "train": len(expected_train_cases()), "rows": 31, "f16_train": 16}
    r = run(board, Case(FIXTURE, TWINS, {"unused": np.zeros(1, np.float32)}, outputs, harts=harts), out_dir=tmp_path,
            timeout=900)
    got, want = r.outputs["convs"], expected_cases()
    assert got.shape == want.shape
    bad = [(CONVS[i // 12], ("relu", "none", "sigmoid")[i // 4 % 3], ("conv", "residual", "overwrite",
            "depthwise")[i % 4]) for i in np.flatnonzero(got != want)]
    assert not bad, bad
    assert int((want == 1).sum()) == 93
    # the training twins (par_train.c): conv input/weight gradients, the Adam update
    got, want = r.outputs["train"], expected_train_cases()
    bad = [("adam",) if i == len(CONVS) * 2 else (CONVS[i // 2], ("bwd_input", "bwd_weight")[i % 2])
           for i in np.flatnonzero(got != want)]
    assert not bad, bad
    assert int((want == 1).sum()) == 25
    # matmul / linear, softmax, LayerNorm (par_gemm.c, par_norm.c), copy (par_copy.c), pooling
    # backward (par_pool.c): 31 cases, FP32 and FP16
    got = r.outputs["rows"]
    assert got.shape == (31,) and np.all(got == 1), np.flatnonzero(got != 1)
    # FP16 training (par_train_f16.c): 6 shapes x (input, weight gradient), SGD with finite and
    # with an infinite gradient (skipped whole, overflow flagged), Adam, ReLU backward
    got = r.outputs["f16_train"]
    assert got.shape == (16,) and np.all(got == 1), np.flatnonzero(got != 1)
    # the harts all worked, and waiting is counted apart
    assert r.cluster is not None and min(h.work for h in r.cluster.harts) > 0


@pytest.mark.qemu
def test_profile_on_cluster_is_per_layer_span(tmp_path: Path) -> None:
    """run --profile on the cluster board: each layer's cost is its span (the plugin's cluster
    mode checkpoints the span so far at each node marker), and the layers add up to the run's
    span less the calls between nodes."""
    from test_cluster import _small_net
    from toolchain.run import run_on_board

    board = load_board(BOARD)
    require_tools(board)
    model = _small_net(tmp_path / "small.onnx")
    r = run_on_board(model, board, harts=8, profile=True)
    assert r.match and r.layers is not None
    span = r.extra["span_instructions"]
    costs = [x.cost for x in r.layers]
    assert 0 <= span - sum(costs) <= 16 * len(costs), (span, costs)
    convs = [x for x in r.layers if x.op == "Conv"]
    assert convs and all("_par_" in x.kernel and x.cost > 0 for x in convs)
    # a layer's span is below its work over all harts: the harts shared it
    plain = run_on_board(model, board, harts=1, profile=True)
    one = {x.node: x.cost for x in plain.layers}
    assert all(x.cost * 2 < one[x.node] for x in convs), [(x.node, x.cost, one[x.node]) for x in convs]
