"""Patch-based first stages (--patch-stage, passes/patch.py, ops/patch.py; MCUNetV2): a CNN's
first convs run band by band with the halo rows recomputed. The outputs must equal the op-by-op
build's (the same kernels on the same values), match onnxruntime, and the VWW arena must drop
to half the op-by-op bound with a streamed image."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from toolchain.api import CompileOptions, compile_model, write_sources
from toolchain.build.host import build_host, run_host
from toolchain.memory.checker import check_plan
from toolchain.ops.base import KernelTarget
from toolchain.verify import onnxruntime_outputs, seeded_inputs

ROOT = Path(__file__).resolve().parents[1]
VWW = ROOT / "examples" / "vww_mobilenet_v1_025.onnx"
STAGE_OPS = ("PatchStage", "PatchStageRows")


def _host(model: Path | onnx.ModelProto, options: CompileOptions, out: Path, seed: int = 0):  # noqa: ANN202
    cm = compile_model(model, options=options)
    check_plan(cm.graph, cm.memory.lifetimes, cm.memory.plan)  # the independent checker
    src = write_sources(cm, out)
    exe = build_host(src, len(cm.graph.inputs))
    inputs = seeded_inputs(cm, seed)
    return cm, inputs, run_host(exe, inputs, [cm.graph.tensors[o].size for o in cm.graph.outputs])


def _stage(cm):  # noqa: ANN001, ANN202
    return next(n for n in cm.graph.nodes if n.op_type in STAGE_OPS)


def _vww_cut(out: str) -> onnx.ModelProto:
    """VWW up to tensor `out` (its output then is that feature map, not two probabilities)."""
    m = onnx.load(VWW)
    keep, need = [], {out}
    for n in reversed(m.graph.node):
        if set(n.output) & need:
            keep.append(n)
            need |= set(n.input)
    names = {i for n in keep for i in n.input}
    g = helper.make_graph(list(reversed(keep)), "vww_cut", list(m.graph.input),
                          [helper.make_tensor_value_info(out, TensorProto.FLOAT, ["N", "c", "h", "w"])],
                          [t for t in m.graph.initializer if t.name in names])
    return helper.make_model(g, opset_imports=list(m.opset_import))


# ---------------------------------------------------------------- VWW: the figure


def test_vww_streamed_patch_arena_is_half_the_op_by_op_bound() -> None:
    """MobileNetV1-0.25 at 96x96: op by op the bound is 221,184 B (/6/Conv: 8x48x48 in, 16x48x48
    out); with the image streamed and the first four convs in row bands the arena must be at
    most half of it (the target: <= 110,592 B), from 149,760 B streamed without a stage."""
    cm = compile_model(VWW, options=CompileOptions(stream_input=True, patch_stage="auto"))
    check_plan(cm.graph, cm.memory.lifetimes, cm.memory.plan)
    assert cm.op_by_op_bytes == 221_184
    assert cm.arena_bytes <= cm.op_by_op_bytes // 2
    ps = cm.patch
    assert ps is not None and ps.streamed and ps.arena_bytes == cm.arena_bytes
    assert ps.without_bytes == 149_760 and ps.arena_bytes < ps.without_bytes
    st = _stage(cm)
    assert st.op_type == "PatchStageRows" and len(ps.layers) == len(st.params.layers)
    # the stage's large maps exist as bands only: none of its intermediates is a tensor
    assert all(f"/{k}/Relu_output_0" not in cm.graph.tensors for k in (2, 5, 8))
    # recompute: banded MACs counted per band, at least the op-by-op MACs
    assert ps.banded_macs > ps.full_macs == sum(n.macs for n in compile_model(VWW).nodes[:len(ps.layers)])
    assert cm.macs == compile_model(VWW).macs + ps.banded_macs - ps.full_macs
    # without a streamed image the input (110,592 B) stays whole: the stage still lowers the arena
    whole = compile_model(VWW, options=CompileOptions(patch_stage="auto"))
    assert whole.patch is not None and whole.arena_bytes < compile_model(VWW).arena_bytes


def test_vww_patch_is_off_unless_asked_or_over_budget() -> None:
    """Default "fit": no stage without a RAM budget, nor when the model fits it; over the
    budget the stage is taken, with the tallest band that stays within it."""
    assert compile_model(VWW).patch is None
    assert compile_model(VWW, options=CompileOptions(ram_budget=320 * 1024)).patch is None
    over = compile_model(VWW, options=CompileOptions(stream_input=True, ram_budget=100_000))
    assert over.patch is not None and over.arena_bytes <= 100_000
    tight = compile_model(VWW, options=CompileOptions(stream_input=True, patch_stage="auto"))
    # the budget's slack buys taller bands: less recompute than the smallest arena's band
    assert over.patch.rows > tight.patch.rows and over.patch.recompute_pct < tight.patch.recompute_pct


@pytest.mark.parametrize("stream", [False, True])
def test_vww_patch_matches_onnxruntime_on_host(stream: bool, tmp_path: Path) -> None:
    """The whole model (two probabilities) and, sharper, the model cut after the first block
    that follows the stage (a 32x24x24 map): bit for bit equal to the build without a stage,
    within 1e-5 of onnxruntime."""
    for model in (onnx.load(VWW), _vww_cut("/14/Relu_output_0")):
        opts = CompileOptions(stream_input=stream)
        _, inputs, want = _host(model, opts, tmp_path / "plain")
        cm, _, got = _host(model, CompileOptions(stream_input=stream, patch_stage="auto"), tmp_path / "patch")
        assert cm.patch is not None and cm.patch.streamed == stream
        assert want[0].tobytes() == got[0].tobytes()
        ref = onnxruntime_outputs(model, cm.graph.inputs, inputs)
        np.testing.assert_allclose(got[0], ref[0].reshape(-1), atol=1e-5, rtol=1e-5)


# ---------------------------------------------------------------- a small CNN with every edge


def _cnn(h: int = 23, w: int = 19, nhwc: bool = False) -> onnx.ModelProto:
    """conv 3x3/2 (pads 1) -> depthwise 3x3 (pads 1, ReLU6) -> pointwise -> depthwise 3x3/2
    with Keras "same" pads [0, 0, 1, 1] -> conv 3x3 dilation 2 (pads 2) -> pointwise: stride-2
    and padding edges top and bottom, an odd image, asymmetric pads, dilation."""
    rng = np.random.default_rng(19)

    def t(name: str, *shape: int) -> onnx.TensorProto:
        return helper.make_tensor(name, TensorProto.FLOAT, list(shape), rng.standard_normal(shape).astype(np.float32).ravel())

    inits = [t("w0", 8, 3, 3, 3), t("b0", 8), t("w1", 8, 1, 3, 3), t("b1", 8), t("w2", 12, 8, 1, 1), t("b2", 12),
             t("w3", 12, 1, 3, 3), t("b3", 12), t("w4", 6, 12, 3, 3), t("b4", 6), t("w5", 5, 6, 1, 1)]
    inits += [helper.make_tensor("lo", TensorProto.FLOAT, [], [0.0]), helper.make_tensor("hi", TensorProto.FLOAT, [], [6.0])]
    nodes = []
    src = "x"
    if nhwc:
        nodes.append(helper.make_node("Transpose", ["x"], ["xt"], perm=[0, 3, 1, 2]))
        src = "xt"
    nodes += [
        helper.make_node("Conv", [src, "w0", "b0"], ["c0"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c0"], ["r0"]),
        helper.make_node("Conv", ["r0", "w1", "b1"], ["c1"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], group=8),
        helper.make_node("Clip", ["c1", "lo", "hi"], ["r1"]),
        helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"], kernel_shape=[1, 1]),
        helper.make_node("Relu", ["c2"], ["r2"]),
        helper.make_node("Conv", ["r2", "w3", "b3"], ["c3"], kernel_shape=[3, 3], strides=[2, 2], pads=[0, 0, 1, 1],
                         group=12),
        helper.make_node("Relu", ["c3"], ["r3"]),
        helper.make_node("Conv", ["r3", "w4", "b4"], ["c4"], kernel_shape=[3, 3], pads=[2, 2, 2, 2], dilations=[2, 2]),
        helper.make_node("Relu", ["c4"], ["r4"]),
        helper.make_node("Conv", ["r4", "w5"], ["y"], kernel_shape=[1, 1]),
    ]
    shape = ["N", h, w, 3] if nhwc else ["N", 3, h, w]
    g = helper.make_graph(nodes, "cnn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", "c", "h", "w"])], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


@pytest.mark.parametrize("stage,stream,nhwc", [
    ("2:1", False, False), ("3:2", False, False), ("4:1", False, False), ("4:3", True, False),
    ("5:1", True, False), ("5:2", False, False), ("6:4", True, True), ("5:100", False, False), ("4:2", True, True)])
def test_small_cnn_patch_equals_op_by_op(stage: str, stream: bool, nhwc: bool, tmp_path: Path) -> None:
    """Every band height against the build without a stage: bit for bit (each output element
    is computed by the same kernel code), and within 1e-6 x max|y| of onnxruntime."""
    model = _cnn(nhwc=nhwc)
    _, inputs, want = _host(model, CompileOptions(stream_input=stream), tmp_path / "plain")
    cm, _, got = _host(model, CompileOptions(stream_input=stream, patch_stage=stage), tmp_path / "patch")
    layers, rows = (int(v) for v in stage.split(":"))
    p = _stage(cm).params
    assert len(p.layers) == layers and p.rows == rows and (p.image is not None) == stream
    assert want[0].tobytes() == got[0].tobytes()
    ref = onnxruntime_outputs(model, cm.graph.inputs, inputs)[0].reshape(-1)
    # FP32 sums in another order than onnxruntime's, on values up to ~150: relative to the scale
    np.testing.assert_allclose(got[0], ref, atol=1e-6 * max(1.0, float(np.abs(ref).max())), rtol=0)


def test_small_cnn_bands_cover_every_row_once() -> None:
    """Band geometry: the last layer's bands tile its rows; every layer's input rows are the
    rows the next layer's band reads, clipped to the map; a streamed image's rows are asked
    for in increasing order, each exactly once."""
    cm = compile_model(_cnn(), options=CompileOptions(stream_input=True, patch_stage="5:2"))
    p = _stage(cm).params
    last = [s[-1] for s in p.bands]
    assert [(b.o0, b.o1) for b in last] == [(r, min(r + 2, p.layers[-1].out_shape[2]))
                                           for r in range(0, p.layers[-1].out_shape[2], 2)]
    asked: list[int] = []
    prev_b = 0
    for step in p.bands:
        for lay, bd, nxt in zip(p.layers, step, step[1:]):
            assert (bd.o0, bd.o1) == (nxt.a, nxt.b)
        for bd, lay in zip(step, p.layers):
            assert 0 <= bd.a < bd.b <= lay.x_shape[2]
        asked += list(range(max(prev_b, step[0].a), step[0].b))
        prev_b = step[0].b
    assert asked == sorted(set(asked)) == list(range(asked[0], asked[-1] + 1))
    assert p.banded_macs > p.full_macs


def test_small_cnn_fp16_patch(tmp_path: Path) -> None:
    """An FP16 build (the stage's bands, copies and the streamed rows in FP16): bit for bit
    equal to the FP16 build without a stage."""
    f16 = KernelTarget("f16", ("ref",))
    for stream in (False, True):
        _, _, want = _host(_cnn(), CompileOptions(target=f16, stream_input=stream), tmp_path / f"plain{stream}")
        cm, _, got = _host(_cnn(), CompileOptions(target=f16, stream_input=stream, patch_stage="4:2"),
                           tmp_path / f"patch{stream}")
        assert _stage(cm).params.to_f16 == stream
        assert want[0].tobytes() == got[0].tobytes()


# ---------------------------------------------------------------- the C row mover


ROWS_MAIN = r"""
#include <stdio.h>
#include <string.h>
#include "mf_patch.h"

enum { C = 2, H = 9, W = 3 };
static int asked[64], n_asked;

static int next_row(void *user, int32_t y, float *row)
{
    (void)user;
    asked[n_asked++] = y;
    for (int32_t ch = 0; ch < C; ++ch)
        for (int32_t x = 0; x < W; ++x) row[ch * W + x] = (float)(ch * 1000 + y * 10 + x);
    return 0;
}

int main(void)
{
    /* bands growing, shrinking and jumping: [0,3) [1,6) [4,6) [5,9) [8,9) */
    static const int32_t ab[][2] = {{0, 3}, {1, 6}, {4, 6}, {5, 9}, {8, 9}};
    float band[C * H * W], row[C * W];
    int32_t pa = 0, pb = 0;
    for (int k = 0; k < 5; ++k) {
        mf_patch_rows_desc d = {C, H, W, 0, pa, pb, ab[k][0], ab[k][1]};
        if (mf_patch_rows_f32_ref(next_row, NULL, row, band, &d) != MF_OK) return 1;
        const int32_t rows = ab[k][1] - ab[k][0];
        for (int32_t ch = 0; ch < C; ++ch)
            for (int32_t r = 0; r < rows; ++r)
                for (int32_t x = 0; x < W; ++x)
                    if (band[(ch * rows + r) * W + x] != (float)(ch * 1000 + (ab[k][0] + r) * 10 + x)) return 2;
        pa = ab[k][0];
        pb = ab[k][1];
    }
    mf_patch_rows_desc bad = {C, H, W, 0, 3, 4, 2, 5};  /* moving up is a misuse */
    if (mf_patch_rows_f32_ref(next_row, NULL, row, band, &bad) != MF_EARG) return 3;
    for (int i = 0; i < n_asked; ++i) printf("%d ", asked[i]);
    return 0;
}
"""


def test_patch_rows_kernel_keeps_rows_and_asks_each_once(tmp_path: Path) -> None:
    (tmp_path / "main.c").write_text(ROWS_MAIN)
    inc = ROOT / "runtime_c" / "include"
    exe = tmp_path / "rows"
    subprocess.run(["gcc", "-Wall", "-Wextra", "-Werror", "-std=c11", "-O1", f"-I{inc}", str(tmp_path / "main.c"),
                    str(ROOT / "runtime_c" / "src" / "patch_f32_ref.c"), "-o", str(exe)], check=True)
    r = subprocess.run([str(exe)], capture_output=True, text=True, check=False)
    assert r.returncode == 0
    assert [int(v) for v in r.stdout.split()] == list(range(9))


# ---------------------------------------------------------------- CLI


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "toolchain.cli", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=600)


def test_compile_json_and_text_report_the_stage(tmp_path: Path) -> None:
    r = _cli("compile", str(VWW), "-o", str(tmp_path / "j"), "--stream-input", "--patch-stage", "auto", "--json")
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    ps = rep["patch_stage"]
    assert rep["arena_bytes"] == ps["arena_bytes"] <= rep["op_by_op_bound_bytes"] // 2
    assert ps["layers"][-1] == "/9/Conv" and ps["bands"] * ps["band_rows"] >= ps["output_shape"][2]
    assert ps["recompute_macs"] == ps["banded_macs"] - ps["macs"] > 0
    assert abs(ps["recompute_pct"] - 100 * ps["recompute_macs"] / ps["macs"]) < 0.01
    t = _cli("compile", str(VWW), "-o", str(tmp_path / "t"), "--stream-input", "--patch-stage", "4:3")
    assert t.returncode == 0, t.stderr
    assert "patch stage  4 layers" in t.stdout and "row bands of 3 output rows" in t.stdout and "recompute" in t.stdout
    h = (tmp_path / "t" / "model.h").read_text()
    assert "mf_model_run_rows" in h and "#define MF_MODEL_STREAMED 1" in h
    assert "patch stage: 4 layers in 8 bands of 3 output rows" in h  # the build says how it was made


@pytest.mark.parametrize("value,what", [("40", "1 to 16 layers"), ("4:x", "Invalid value"), ("0", "Invalid value")])
def test_bad_patch_stage_is_one_error_line(value: str, what: str, tmp_path: Path) -> None:
    r = _cli("compile", str(VWW), "-o", str(tmp_path / "o"), "--patch-stage", value)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and what in lines[0]


# ---------------------------------------------------------------- QEMU


@pytest.mark.qemu
@pytest.mark.slow
def test_vww_patch_in_qemu_stm32f746(tmp_path: Path) -> None:
    """The board's kernels (the M7 dsp conv and depthwise) on bands and the row callback in the
    firmware: VWW streamed with its patch stage matches onnxruntime in at most half the
    op-by-op bound, and the model cut after the stage agrees with the build without one."""
    from fixtures.sim_support import require_tools
    from toolchain.boards import load_board
    from toolchain.run import build_for_board, run_on_board
    from toolchain.sim import run_firmware

    require_tools(load_board("stm32f746-disco"))
    r = run_on_board(VWW, "stm32f746-disco", tmp_path / "vww", None,
                     CompileOptions(stream_input=True, patch_stage="auto", prefer="memory"), 0)
    # --prefer memory: the default would spend the board's spare RAM on out-of-place convs
    assert r.match and r.arena_bytes <= 221_184 // 2
    cut = tmp_path / "cut.onnx"
    onnx.save(_vww_cut("/14/Relu_output_0"), cut)
    outs = {}
    for tag, stage in (("plain", "off"), ("patch", "auto")):
        bb = build_for_board(cut, "stm32f746-disco", tmp_path / tag, None,
                             CompileOptions(stream_input=True, patch_stage=stage), 0)
        res = run_firmware(bb.build, 900)
        assert res.status == 0
        outs[tag] = (bb, np.asarray(res.outputs[0]))
    assert outs["patch"][0].compiled.patch is not None and outs["plain"][0].compiled.patch is None
    # not bit for bit here: the M7 depthwise kernel picks its loop order by the plane's shape
    # (rows or columns as lines), so a band (3 x 48) and the whole map (48 x 48) sum the 9 taps
    # in another order; within FP32 rounding of each other and of onnxruntime
    plain, patch = outs["plain"][1].reshape(-1), outs["patch"][1].reshape(-1)
    scale = max(1.0, float(np.abs(plain).max()))
    np.testing.assert_allclose(patch, plain, atol=1e-6 * scale, rtol=0)
    ref = onnxruntime_outputs(onnx.load(cut), outs["patch"][0].compiled.graph.inputs, outs["patch"][0].inputs)
    np.testing.assert_allclose(patch, ref[0].reshape(-1), atol=1e-5 * scale, rtol=0)


# ---------------------------------------------------------------- int8


@pytest.fixture(scope="module")
def qcnn(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The small CNN quantised by `mcuforge quantize` (float input -> QuantizeLinear), and the
    same taking a uint8 image (DequantizeLinear(image, s, 128) before that QuantizeLinear)."""
    pytest.importorskip("onnxruntime.quantization")
    from int8_models import uint8_image_input
    from toolchain.quantize import quantize_file

    d = tmp_path_factory.mktemp("q")
    onnx.save(_cnn(), d / "cnn.onnx")
    q = Path(quantize_file(d / "cnn.onnx", d / "cnn_q.onnx", None, 4, False, 0))
    return {"float_in": q, "uint8_in": uint8_image_input(q, d / "cnn_u8.onnx")}


@pytest.mark.parametrize("which,stream,stage", [("float_in", False, "4:2"), ("float_in", True, "5:1"),
                                                ("uint8_in", True, "4:3")])
def test_int8_patch_equals_op_by_op(qcnn: dict[str, Path], which: str, stream: bool, stage: str,
                                    tmp_path: Path) -> None:
    """int8 QConv layers in bands (zero-point padding, requantisation in the kernels): bit for
    bit the build without a stage, and within 1 LSB of onnxruntime (verify)."""
    from toolchain.verify import verify

    base = CompileOptions(int_input=which == "float_in", stream_input=stream)
    _, _, want = _host(qcnn[which], base, tmp_path / "plain")
    cm, _, got = _host(qcnn[which], CompileOptions(int_input=which == "float_in", stream_input=stream,
                                                   patch_stage=stage), tmp_path / "patch")
    p = _stage(cm).params
    assert {lay.op for lay in p.layers} == {"QConv"} and p.from_u8 == (which == "uint8_in")
    assert want[0].tobytes() == got[0].tobytes()
    r = verify(qcnn[which], options=CompileOptions(int_input=which == "float_in", stream_input=stream,
                                                   patch_stage=stage))
    assert r.match, r.as_dict()


@pytest.mark.qemu
@pytest.mark.parametrize("board,dtype", [("rv32-rvv", "fp32"), ("rv32-rvv", "fp16"), ("cortex-m55-an547", "fp32"),
                                         ("cortex-m55-an547", "fp16")])
def test_small_cnn_patch_on_vector_boards(board: str, dtype: str, tmp_path: Path) -> None:
    """The RVV and Helium conv/depthwise kernels on bands (stride 2, pads, dilation, streamed
    NHWC rows): the patched build matches onnxruntime on the board and agrees with the build
    without a stage (SIMD kernels may order a sum by the plane's shape: within rounding)."""
    from fixtures.sim_support import require_tools
    from toolchain.boards import load_board
    from toolchain.run import build_for_board, run_on_board
    from toolchain.sim import run_firmware

    require_tools(load_board(board))
    path = tmp_path / "cnn.onnx"
    onnx.save(_cnn(nhwc=True), path)
    opts = CompileOptions(stream_input=True, patch_stage="5:2")
    r = run_on_board(path, board, tmp_path / "patch", None, opts, 0, dtype=dtype)
    assert r.match, r
    outs = []
    for tag, o in (("plain", CompileOptions(stream_input=True)), ("patch2", opts)):
        bb = build_for_board(path, board, tmp_path / tag, None, o, 0, dtype=dtype)
        res = run_firmware(bb.build, 900)
        assert res.status == 0
        outs.append(np.asarray(res.outputs[0], np.float32).reshape(-1))
        assert (bb.compiled.patch is not None) == (tag == "patch2")
    scale = max(1.0, float(np.abs(outs[0]).max()))
    np.testing.assert_allclose(outs[1], outs[0], atol=(1e-6 if dtype == "fp32" else 4e-3) * scale, rtol=0)


@pytest.mark.qemu
@pytest.mark.slow
def test_vww_fits_128k_board_by_default(tmp_path: Path) -> None:
    """The default --patch-stage fit on the 128 KB STM32F405: streamed VWW needs 149,760 B
    without a stage, so the build takes one (the least recompute that fits) and still matches."""
    from fixtures.sim_support import require_tools
    from toolchain.boards import load_board
    from toolchain.run import run_on_board

    b = load_board("stm32f405-netduinoplus2")
    require_tools(b)
    # reference kernels: with the M4's DSP kernels (94 KB of code) the float weights and the
    # 110,592-byte test image baked into flash pass the 1 MB by 9 KB (a camera would stream it)
    r = run_on_board(VWW, b, tmp_path / "nd", None, CompileOptions(stream_input=True), 0, kernels="ref")
    assert r.match, r
    ps = r.build.compiled.patch
    assert ps is not None and r.arena_bytes <= b.memory.ram.size - b.memory.stack_size - 1024 < 149_760
    # the tallest band that fits: less recompute than the smallest arena's one-row bands
    tight = compile_model(VWW, options=CompileOptions(stream_input=True, patch_stage="auto")).patch
    assert ps.rows > tight.rows and ps.banded_macs < tight.banded_macs
