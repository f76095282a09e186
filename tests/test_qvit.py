"""The integer-only low-rank ViT of issue 15 (examples/lowrank_vit_240_int8.onnx: 3x240x240
int8 input, patch 16, embedding 128, depth 4, 2 heads, rank 32, QDQ from `mcuforge quantize`).

Tolerances, and why:
- every op alone (on onnxruntime's own inputs) within 1 LSB of onnxruntime running the QDQ
  file as written, and exactly 0 for the tables (GELU, the attention scale Mul: a table is
  onnxruntime's DQ -> op -> Q on all 256 inputs), the softmax, the bias-row adds and the
  patch-embedding conv. Where LayerNorm, the activation MatMuls and the residual adds differ by
  1 LSB (about one output in 10^5 to 10^6), ours is the float64 value correctly rounded and
  onnxruntime's float32 (its LayerNorm variance as E[x^2] - E[x]^2, float32 sums and (q - zp) * s
  products) is not: toolchain/int8exact.py, test_every_op_rounds_the_real_value_... (except
  where our LayerNorm's normalised value, kept to 2^-24, misses a boundary by less than its
  bound: 2 outputs in 260,352 on seed 0);
- the logits after 4 blocks within LOGIT_LSB LSB of onnxruntime as written: those 1-LSB
  flips propagate through the residual stream. On the trained model the seeded digits are
  0-4 LSB off (onnxruntime's own two ways of running the file, with and without its QDQ
  fusions, differ by 1-4 LSB on them), 360 held-out digits at most 7 (bench/qvit_accuracy.py);
- top-1 equal to onnxruntime's on every seeded input: the model is trained on the digits
  (examples/lowrank_vit.py --digits), its top-2 margins on them are 38-104 LSB, far above the
  drift, so no near-tie exception is needed.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
import pytest

from conftest import EXAMPLES
from toolchain.api import compile_model, write_sources
from toolchain.ops.qtransformer import LN_FRAC, QMatMulParams, layernorm_constants, layernorm_reference, row_of
from toolchain.ops.requant import Requant

MODEL = EXAMPLES / "lowrank_vit_240_int8.onnx"
LOGIT_LSB = 10
# the seeded inputs: the first held-out digit of each class 0..9 (indices into the 360 of
# examples/lowrank_vit.py's digits("test"): toolchain/nas/data.py's split, seed 0)
DIGITS = (13, 30, 5, 3, 26, 8, 2, 25, 0, 15)
QEMU_DIGITS = 8  # each is one firmware build and ~330 M instructions in QEMU
SRAM, FLASH = 320 * 1024, 1024 * 1024


# ---------------------------------------------------------------- op references


def _float_layernorm(x, in_s, in_zp, g, b, eps, out_s, out_zp):
    v = (x.astype(np.float64) - in_zp) * in_s
    mu = v.mean(axis=-1, keepdims=True)
    var = ((v - mu) ** 2).mean(axis=-1, keepdims=True)
    y = (v - mu) / np.sqrt(var + eps) * g + b
    return np.clip(np.round(y / out_s) + out_zp, -128, 127)


@pytest.mark.parametrize("cols", [1, 2, 7, 64, 128, 129, 1000, 4096])
def test_layernorm_reference_is_within_1_lsb_of_float(cols: int) -> None:
    rng = np.random.default_rng(cols)
    x = rng.integers(-128, 128, (9, cols)).astype(np.int8)
    x[0] = 17  # a constant row: zero variance, only eps
    x[1, ::2], x[1, 1::2] = -128, 127  # the widest spread
    g, b = rng.normal(1.0, 0.5, cols), rng.normal(0.0, 0.3, cols)
    in_s, out_s, in_zp, out_zp, eps = 0.043, 0.031, -7, 5, 1e-5
    p, gq, bq = layernorm_constants(g, b, eps, in_s, out_s, out_zp, in_zp, cols)
    got = layernorm_reference(x, gq, bq, p).astype(np.int64)
    want = _float_layernorm(x, in_s, in_zp, g, b, eps, out_s, out_zp)
    # exactly the float64 value rounded: the integer mean and variance are exact, the square
    # root and reciprocal good to 2^-30, the normalised value to 2^-24
    np.testing.assert_array_equal(got, want)
    assert np.all(got[0] == np.clip(np.round(b / out_s) + out_zp, -128, 127))


def test_layernorm_normalised_value_keeps_24_fraction_bits() -> None:
    """N_i = d_i / sqrt(V) * 2^24 (|N_i| <= 2^24): the worst-case row sits at the bound."""
    x = np.array([[-128, 127]], np.int8)
    p, gq, bq = layernorm_constants(np.ones(2), np.zeros(2), 0.0, 1.0, 1.0, 0, 0, 2)
    assert p.g_shift > 20 and LN_FRAC == 24
    y = layernorm_reference(x, gq, bq, p)
    assert y.tolist() == [[-1, 1]]  # (x - mean) / std = -1, +1 exactly


def test_qmatmul_reference_is_the_float_product_requantised() -> None:
    rng = np.random.default_rng(0)
    a = rng.integers(-128, 128, (2, 5, 13)).astype(np.int8)
    b = rng.integers(-128, 128, (2, 13, 7)).astype(np.int8)
    sa, sb, so = 0.02, 0.03, 0.9
    from toolchain.ops.qtransformer import QMatMul

    rq = Requant.from_scales(sa * sb / so, 3)
    got = QMatMul.reference(QMatMulParams(4, -2, False, rq), [a, b])[0].astype(np.int64)
    real = ((a.astype(np.float64) - 4) * sa) @ ((b.astype(np.float64) + 2) * sb)
    want = np.clip(np.round(real / so) + 3, -128, 127)
    assert np.abs(got - want).max() <= 1
    got_t = QMatMul.reference(QMatMulParams(4, -2, True, rq), [a, np.swapaxes(b, 1, 2).copy()])[0]
    assert np.array_equal(got_t, got)


def test_bias_rows_are_kept_one_row_long() -> None:
    assert row_of((128,), (1, 226, 128)) == 128
    assert row_of((1, 1, 128), (1, 226, 128)) == 128
    assert row_of((1, 226, 128), (1, 226, 128)) == 0  # same shape: a plain QAdd
    assert row_of((226, 1), (1, 226, 128)) == 0  # broadcast along the row: not a row


# ---------------------------------------------------------------- the model


@pytest.fixture(scope="module")
def compiled():
    return compile_model(MODEL)


def test_model_file_is_the_mcuformer_like_configuration() -> None:
    m = onnx.load(str(MODEL))
    assert MODEL.stat().st_size < 1_500_000
    (inp,) = m.graph.input
    assert inp.type.tensor_type.elem_type == onnx.TensorProto.INT8
    assert [d.dim_value for d in inp.type.tensor_type.shape.dim] == [1, 3, 240, 240]
    ops = {n.op_type for n in m.graph.node}
    assert {"LayerNormalization", "Gelu", "Softmax", "MatMul", "QuantizeLinear", "DequantizeLinear"} <= ops
    conv = next(n for n in m.graph.node if n.op_type == "Conv")
    assert next(a.ints for a in conv.attribute if a.name == "kernel_shape") == [16, 16]
    # every float op sits between DequantizeLinear and QuantizeLinear: the graph is integer
    prod = {o: n for n in m.graph.node for o in n.output}
    for n in m.graph.node:
        if n.op_type in ("LayerNormalization", "Gelu", "Softmax", "Mul", "Add") and "ConstantOfShape" not in {
                prod[x].op_type for x in n.input if x in prod}:  # not the exporter's shape arithmetic
            # (Identity: the exporter's alias of a DequantizeLinear of shared LayerNorm weights)
            assert all(prod[x].op_type in ("DequantizeLinear", "Identity") for x in n.input if x in prod), n.name


def test_model_lowers_to_integer_ops_only(compiled) -> None:
    ops = {n.op_type for n in compiled.graph.nodes}
    # the attention's QMatMul -> QLut -> QSoftmax -> QMatMul is one QAttention (tests/test_qattention.py)
    assert {"QLayerNorm", "QLut", "QAttention", "QFc", "QConv", "QAddRow", "QAdd"} <= ops
    assert not ops & {"LayerNormalization", "Gelu", "Softmax", "MatMul", "MfQuantize"}
    assert compiled.graph.tensors[compiled.graph.inputs[0]].dtype.value == "int8"
    # the bias rows stay one row: int8 weights are about the parameter count (364,042)
    assert compiled.weight_bytes < 1.1 * 364_042 + 64 * 1024


def test_every_layer_within_1_lsb_and_every_kernel_exact_on_the_host() -> None:
    from toolchain.verify import verify_layers

    layers = verify_layers(MODEL)
    assert layers["first_divergence"] is None, layers["first_divergence"]
    by_op: dict[str, int] = {}
    for d in layers["layers"]:
        assert d["kernel_lsb"] in (0, None), d
        key = d["name"].rsplit("/", 1)[-1].split("_")[0]
        by_op[key] = max(by_op.get(key, 0), d["op_lsb"] or 0)
    assert by_op["Gelu"] == 0 and by_op["Mul"] == 0 and by_op["Softmax"] <= 1 and by_op["MatMul"] <= 1
    assert by_op["LayerNormalization"] <= 1


def _lsb(cm) -> float:
    from toolchain.int8check import lsb_tolerances

    return lsb_tolerances(cm.graph)[0]


def digit_images(compiled, count: int = len(DIGITS)) -> list[tuple[str, int, np.ndarray]]:
    """The seeded inputs: held-out digits (never trained or calibrated on; DIGITS picks the first
    held-out image of each class), resized to 240x240 as the model was trained, quantised with
    the file's input scale as a camera pipeline would: (name, label, int8 image)."""
    pytest.importorskip("torch")  # the bilinear resize
    sys.path.insert(0, str(EXAMPLES))
    from lowrank_vit import digits

    q = compiled.graph.tensors[compiled.graph.inputs[0]].quant
    xs, ys = digits("test", 240)
    return [(f"digit{k}", int(ys[k]), np.clip(np.round(xs[k:k + 1] / q.s) + q.zp, -128, 127).astype(np.int8))
            for k in DIGITS[:count]]


def check_logits(name: str, ours: np.ndarray, as_written: np.ndarray, deployed: np.ndarray, lsb: float) -> float:
    """Asserts the logit tolerance and the top-1 against onnxruntime as written; returns the
    distance in LSB."""
    ours, ref = ours.ravel(), as_written.ravel()
    err = np.abs(ours - ref).max() / lsb
    top2 = np.sort(ref)[-2:]
    margin = (top2[1] - top2[0]) / lsb
    ort_self = np.abs(deployed.ravel() - ref).max() / lsb
    print(f"{name}: logits {err:.0f} LSB off onnxruntime as written (its fused run: {ort_self:.0f} LSB), "
          f"top-1 {ours.argmax()} vs {ref.argmax()}, margin {margin:.0f} LSB")
    assert err <= LOGIT_LSB, name
    assert ours.argmax() == ref.argmax(), name
    return float(err)


def test_logits_within_tolerance_and_top1_equal_on_seeded_digits(compiled) -> None:
    from toolchain.build.host import build_host, run_host
    from toolchain.int8check import int8_reference

    model = onnx.load(str(MODEL))
    logits, worst, right = [], 0.0, 0
    with tempfile.TemporaryDirectory() as tmp:
        exe = build_host(write_sources(compiled, Path(tmp)), 1)
        for name, label, x in digit_images(compiled):
            ours = run_host(exe, [x], [10])[0]
            deployed, as_written = int8_reference(model, compiled.graph, [x])
            worst = max(worst, check_logits(f"{name} (label {label})", ours, as_written[0], deployed[0],
                                            _lsb(compiled)))
            logits.append(ours)
            right += int(ours.argmax() == label)
    print(f"logits at most {worst:.0f} LSB from onnxruntime as written over {len(logits)} held-out digits "
          f"(bound {LOGIT_LSB}); top-1 equal on all; {right} of {len(logits)} labels right")
    # a trained model: the answers are the digits, so the inputs move the logits and the answer
    assert right >= len(logits) - 1
    assert len({int(v.argmax()) for v in logits}) >= 8


def test_streamed_rows_give_the_whole_input_logits_on_digits(compiled, tmp_path) -> None:
    """mf_model_run_rows, fed a patch row at a time, on the same held-out digits: the whole-input
    build's logits to the bit (tests/test_qattention.py runs it in QEMU on stm32f746-disco)."""
    from toolchain.api import CompileOptions
    from toolchain.build.host import build_host, run_host

    streamed = compile_model(MODEL, options=CompileOptions(stream_input=True))
    assert streamed.arena_bytes < compiled.arena_bytes - 50_000
    whole_exe = build_host(write_sources(compiled, tmp_path / "whole"), 1)
    rows_exe = build_host(write_sources(streamed, tmp_path / "rows"), 1)
    for name, _, x in digit_images(compiled, 4):
        a, b = run_host(whole_exe, [x], [10])[0], run_host(rows_exe, [x], [10])[0]
        assert a.tobytes() == b.tobytes(), name
    print(f"streamed rows: arena {streamed.arena_bytes:,} B (whole input {compiled.arena_bytes:,} B), same logits")


def _layernorm_misses(g, ort: dict, feeds: dict) -> list[tuple[float, float]]:
    """Where a QLayerNorm's output (our numpy twin, bit-exact with the C, on onnxruntime's
    inputs) is not the float64 value correctly rounded: (the float64 value's distance to the
    rounding boundary, the bound of our normalised value's 2^-24 rounding there), in LSB."""
    from toolchain.int8check import as_s8
    from toolchain.int8exact import exact_output
    from toolchain.ops import REGISTRY

    env = {n: t.data for n, t in g.tensors.items() if t.is_const} | feeds | {k: as_s8(v) for k, v in ort.items()}
    out = []
    for n in g.nodes:
        if n.op_type != "QLayerNorm" or n.outputs[0] not in ort:
            continue
        xs = [np.asarray(env[i]).reshape(g.tensors[i].shape) for i in n.inputs]
        ours = REGISTRY.get(n.op_type).reference(n.params, xs)[0].astype(np.int64)
        miss = ours != exact_output(g, n, xs)
        p, c = n.params, xs[0].shape[-1]
        d = c * (xs[0].reshape(-1, c).astype(np.float64) - p.in_zp)
        d -= d.mean(axis=1, keepdims=True)
        gam = np.broadcast_to(xs[1].astype(np.float64).reshape(-1) / 2.0**p.g_shift, d.shape)
        real = d / np.sqrt((d * d).sum(axis=1, keepdims=True) + p.eps_q) * gam \
            + xs[2].astype(np.float64).reshape(-1) / 2.0**p.g_shift
        gap = np.abs(np.abs(real - np.floor(real) - 0.5)).reshape(miss.shape)
        out += list(zip(gap[miss].tolist(), (np.abs(gam) * 2.0**-25).reshape(miss.shape)[miss].tolist()))
    return out


def test_every_op_rounds_the_real_value_where_onnxruntime_differs(compiled) -> None:
    """Each op in isolation on onnxruntime's inputs (verify's seed 0): where ours and onnxruntime's
    float32 region differ (1 LSB, rarely), ours is the float64 value correctly rounded on this
    input, except where the LayerNorm's normalised value, kept to 2^-24, moves an output that
    lay within gamma sqrt(cols) / out_scale x 2^-25 LSB of a rounding boundary
    (docs/int8_vit.md: 2 outputs of 260,352 on the trained model)."""
    from toolchain.api import CompileOptions, compile_graph
    from toolchain.frontend import load_onnx
    from toolchain.int8check import ort_with_intermediates, with_intermediate_outputs
    from toolchain.int8exact import OPS, op_census
    from toolchain.verify import seeded_inputs

    model = onnx.load(str(MODEL))
    g = compile_graph(with_intermediate_outputs(load_onnx(MODEL), model), CompileOptions(integrate=False)).graph
    feeds = dict(zip(g.inputs, seeded_inputs(compiled, 0)))
    ort = ort_with_intermediates(model, g.outputs, feeds)
    c = op_census(g, ort, feeds)
    for k in sorted(c.outputs):
        print(f"{k}: {c.ours_vs_ort[k]} of {c.outputs[k]} outputs differ from onnxruntime (max {c.max_lsb[k]} LSB)"
              + (f"; from float64: ours {c.ours_vs_exact[k]}, onnxruntime {c.ort_vs_exact[k]}" if k in OPS else ""))
    assert set(OPS) <= set(c.outputs) and {"QLut:Gelu", "QLut:Mul", "QSoftmax", "QFc", "QConv"} <= set(c.outputs)
    assert all(v <= 1 for v in c.max_lsb.values()), c.max_lsb
    assert all(c.ours_vs_exact[k] == 0 for k in OPS if k != "QLayerNorm"), c.ours_vs_exact
    misses = _layernorm_misses(g, ort, feeds)
    assert len(misses) == c.ours_vs_exact["QLayerNorm"] <= 1e-5 * c.outputs["QLayerNorm"]
    for gap, bound in misses:
        print(f"QLayerNorm: float64 value {gap:.2e} LSB from the rounding boundary (2^-24 bound {bound:.2e})")
        assert gap <= bound
    for k in ("QLut:Gelu", "QLut:Mul", "QSoftmax", "QAddRow", "QConv"):  # tables, exact by construction; ...
        assert c.ours_vs_ort[k] == 0, k
    assert sum(c.ours_vs_ort.values()) <= 1e-4 * sum(c.outputs.values())


@pytest.mark.qemu
@pytest.mark.slow
def test_fits_stm32f746_and_runs_in_qemu_within_tolerance(compiled, tmp_path) -> None:
    """Issue 15's must-show: on stm32f746-disco (its DSP kernels, as `mcuforge build` picks
    them) in QEMU, QEMU_DIGITS held-out digits: within LOGIT_LSB of onnxruntime as written,
    the top-1 equal on every one, the logits the host build's bit for bit; RAM and flash as
    the linker counts them within the board's 320 KB and 1 MB."""
    from toolchain.api import CompileOptions
    from toolchain.boards import load_board
    from toolchain.build import build_firmware
    from toolchain.build.host import build_host, run_host
    from toolchain.codegen.target import kernel_target
    from toolchain.int8check import int8_reference
    from toolchain.run import arena_budget
    from toolchain.sim import run_firmware

    board = load_board("stm32f746-disco")
    # the options `mcuforge build` compiles with for this board
    cm = compile_model(MODEL, options=CompileOptions(target=kernel_target(board, "int8"),
                                                     ram_budget=arena_budget(board)))
    kernels = {c.kernel for calls in cm.calls for c in calls}
    assert any(k.endswith("_dsp") for k in kernels)  # the board's kernels, not only the references
    src = write_sources(cm, tmp_path / "model")
    model = onnx.load(str(MODEL))
    exe = build_host(write_sources(compiled, tmp_path / "host"), 1)
    lsb, worst, right = _lsb(compiled), 0.0, 0
    images = digit_images(compiled, QEMU_DIGITS)
    for name, label, x in images:
        build = build_firmware(src, board, tmp_path / name, [x])
        assert build.ram_bytes <= SRAM and build.flash_bytes <= FLASH  # the linker script enforces both too
        res = run_firmware(build, 900)
        assert res.status == 0
        ours = np.asarray(res.outputs[0], np.float32).ravel()
        assert ours.tobytes() == run_host(exe, [x], [10])[0].astype(np.float32).tobytes(), name
        deployed, as_written = int8_reference(model, compiled.graph, [x])
        worst = max(worst, check_logits(f"stm32f746-disco {name} (label {label})", ours, as_written[0], deployed[0],
                                        lsb))
        right += int(ours.argmax() == label)
        print(f"  {res.instructions:,} instructions; RAM {build.ram_bytes:,} B (arena {build.arena_bytes:,} B) "
              f"of {SRAM:,}, flash {build.flash_bytes:,} B of {FLASH:,}")
    print(f"stm32f746-disco in QEMU: top-1 equal to onnxruntime on {len(images)} of {len(images)} held-out digits, "
          f"logits at most {worst:.0f} LSB apart (bound {LOGIT_LSB}); {right} labels right")


def test_layernorm_constants_agree_with_the_header() -> None:
    import re

    from toolchain.codegen import RUNTIME
    from toolchain.ops.qtransformer import LN_MAX_COLS

    h = (Path(RUNTIME) / "include" / "mf_int8_vit.h").read_text()
    assert int(re.search(r"#define MF_LAYERNORM_S8_FRAC (\d+)", h).group(1)) == LN_FRAC
    assert int(re.search(r"#define MF_LAYERNORM_S8_MAX_COLS (\d+)", h).group(1)) == LN_MAX_COLS


def _qdq_layernorm(axis: int) -> onnx.ModelProto:
    from onnx import TensorProto, helper

    inits = [helper.make_tensor("s", TensorProto.FLOAT, [], [0.05]), helper.make_tensor("z", TensorProto.INT8, [], [0]),
             helper.make_tensor("g", TensorProto.FLOAT, [4, 6] if axis == 1 else [6], [1.1, 0.7, -0.4, 2.0] * (6 if axis == 1 else 1)
                                + [0.9, 1.3] * (0 if axis == 1 else 1)),
             helper.make_tensor("b", TensorProto.FLOAT, [4, 6] if axis == 1 else [6], [0.1] * (24 if axis == 1 else 6))]
    nodes = [helper.make_node("DequantizeLinear", ["x", "s", "z"], ["xf"]),
             helper.make_node("LayerNormalization", ["xf", "g", "b"], ["yf"], name="ln", axis=axis),
             helper.make_node("QuantizeLinear", ["yf", "s", "z"], ["y"])]
    g = helper.make_graph(nodes, "ln", [helper.make_tensor_value_info("x", TensorProto.INT8, [1, 4, 6])],
                          [helper.make_tensor_value_info("y", TensorProto.INT8, [1, 4, 6])], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


def test_int8_layernorm_not_over_the_last_axis_is_one_error_line(tmp_path) -> None:
    import subprocess

    path = tmp_path / "ln.onnx"
    onnx.save(_qdq_layernorm(1), path)
    p = subprocess.run([sys.executable, "-m", "toolchain.cli", "compile", str(path), "-o", str(tmp_path / "out")],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 2
    assert p.stderr.strip().splitlines() == [
        "error: LayerNormalization node 'ln': int8 LayerNormalization only over the last axis"]


def test_small_int8_layernorm_model_verifies_within_1_lsb(tmp_path) -> None:
    from toolchain.verify import verify

    path = tmp_path / "ln.onnx"
    onnx.save(_qdq_layernorm(-1), path)
    r = verify(path)
    assert r.max_abs_error <= 1, r.as_dict()


def test_the_exporters_erf_gelu_formula_quantized_by_mcuforge_verifies(tmp_path) -> None:
    """vit_tiny_opset18 (dynamo exporter: GELU as x * 0.5 * (1 + erf(x / sqrt 2))), quantized
    with `mcuforge quantize`: onnxruntime's quantizer leaves Div -> Erf float, so that pair
    becomes one table, the Mul of two activations a QMul; every layer within 1 LSB."""
    from toolchain.quantize import quantize_file
    from toolchain.verify import verify, verify_layers

    q = quantize_file(EXAMPLES / "vit_tiny_opset18.onnx", tmp_path / "vit.int8.onnx", calib_random=4, seed=0)
    ops = [n for n in compile_model(q).graph.nodes]
    tables = {n.params.function for n in ops if n.op_type == "QLut"}
    assert "Div+Erf" in tables and any(n.op_type == "QMul" for n in ops)
    layers = verify_layers(q)
    assert layers["first_divergence"] is None, layers["first_divergence"]
    r = verify(q)
    assert r.match, r.as_dict()
