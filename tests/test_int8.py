"""int8 (issue 14), host tier: each op family's generated C is bit-exact with its numpy
reference and within 1 LSB of onnxruntime; requantisation constants; the IR's quantisation
checks; unsupported cases end in one line naming the node."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import int8_models as im
from toolchain.api import compile_model, write_sources
from toolchain.errors import UnsupportedOpError
from toolchain.build.host import build_host, run_host
from toolchain.interp import run_graph
from toolchain.ir import QuantInfo, Tensor, verify_graph
from toolchain.ir.graph import DType
from toolchain.ir.verify import IRError, verify_quant
from toolchain.ops.requant import quantize_multiplier, requant
from toolchain.int8check import int8_reference
from toolchain.verify import seeded_inputs


def run_case(model: onnx.ModelProto, tmp_path, seed: int = 0):
    """(ours from C, numpy reference, onnxruntime) on seeded structured inputs."""
    path = tmp_path / "m.onnx"
    onnx.save(model, path)
    cm = compile_model(path)
    verify_graph(cm.graph)
    src = write_sources(cm, tmp_path / "c")
    exe = build_host(src, len(cm.graph.inputs))
    xs = seeded_inputs(cm, seed)
    ours = run_host(exe, xs, [cm.graph.tensors[o].size for o in cm.graph.outputs])
    ref = run_graph(cm.graph, xs)
    # onnxruntime as it deploys the file and as the file reads (int8check.ort_references)
    return cm, ours, ref, int8_reference(model, cm.graph, xs)


def as_s8_or_float(v: np.ndarray) -> np.ndarray:
    """onnxruntime's values as the C reports them (uint8 outputs stay uint8 in the API)."""
    return np.asarray(v, np.float64).reshape(-1)


CASES = {
    "conv3x3_pad": lambda: im.conv_model(3, 5, 3, 1, 1, 1, "relu"),
    "conv_stride2_odd": lambda: im.conv_model(7, 9, 3, 2, 1, 1, None, hw=(11, 9)),
    "conv_clip": lambda: im.conv_model(4, 6, 3, 1, 0, 1, "clip"),
    "depthwise": lambda: im.conv_model(6, 6, 3, 1, 1, 6, "relu"),
    "pointwise": lambda: im.conv_model(13, 7, 1, 1, 0, 1, "relu"),
    "grouped": lambda: im.conv_model(6, 9, 3, 1, 1, 3, None),
    "fc_per_tensor": lambda: im.fc_model(19, 11, False),
    "fc_per_channel": lambda: im.fc_model(64, 10, True),
    "add": lambda: im.add_model(),
    "avgpool_pad": lambda: im.pool_model("avg"),
    "maxpool": lambda: im.pool_model("max"),
    "global_avgpool": lambda: im.pool_model("global"),
    "softmax": lambda: im.softmax_model(),
    "concat_requant": lambda: im.concat_model(),
    "uint8_io": lambda: im.uint8_io_model(),
    "float_io": lambda: im.float_io_model(),
    "residual_conv_add": lambda: im.residual_model(),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_op_c_matches_numpy_exactly_and_onnxruntime_within_1_lsb(case: str, tmp_path) -> None:
    cm, ours, ref, (deployed, as_written) = run_case(CASES[case](), tmp_path)
    for o, y, r, t, t2 in zip(cm.graph.outputs, ours, ref, deployed, as_written):
        r = np.asarray(r, np.float64).reshape(-1)
        assert np.array_equal(y.astype(np.float64), r), f"{o}: C differs from the numpy reference"
        lsb = 1.0
        if cm.graph.tensors[o].dtype == DType.FLOAT32:
            lsb = cm.graph.producers()[o].params.scale * (1 + 1e-6)
        diff = min(np.abs(y.astype(np.float64) - as_s8_or_float(v)).max() for v in (t, t2))
        assert diff <= lsb, f"{o}: {diff} vs onnxruntime (1 LSB = {lsb})"
    if case == "softmax":  # the seeded input must not saturate the softmax
        assert len(np.unique(ours[0])) > 4


def test_residual_conv_add_fuses_and_takes_the_skip_memory(tmp_path) -> None:
    from dataclasses import replace

    from toolchain.api import CompileOptions

    path = tmp_path / "m.onnx"
    onnx.save(im.residual_model(), path)
    cm = compile_model(path)
    assert [n.op_type for n in cm.graph.nodes] == ["QConv", "QConv", "QConvAdd", "QAveragePool"]
    assert any(a.kind == "inplace" for a in cm.memory.lifetimes.aliases)
    plain = compile_model(path, options=replace(CompileOptions(), fuse=False))
    assert [n.op_type for n in plain.graph.nodes] == ["QConv", "QConv", "QConv", "QAdd", "QAveragePool"]
    assert cm.arena_bytes < plain.arena_bytes


def test_int8_graph_has_only_integer_runtime_tensors_inside(tmp_path) -> None:
    path = tmp_path / "m.onnx"
    onnx.save(im.float_io_model(), path)
    g = compile_model(path).graph
    floats = [n for n in g.nodes if any(g.tensors[x].dtype == DType.FLOAT32 for x in n.inputs + n.outputs if x)]
    assert [n.op_type for n in floats] == ["MfQuantize", "MfDequantize"]  # the boundary only


def test_uint8_io_keeps_uint8_api(tmp_path) -> None:
    path = tmp_path / "m.onnx"
    onnx.save(im.uint8_io_model(), path)
    cm = compile_model(path)
    src = write_sources(cm, tmp_path / "c")
    h = (src.out_dir / "model.h").read_text()
    assert "typedef uint8_t mf_model_in_t;" in h and "typedef uint8_t mf_model_out_t;" in h


@pytest.mark.parametrize("r", [1.0, 0.5, 0.7071, 1e-3, 3.14159e-6, 2.0**-31, 123.456, 0.99999999])
def test_quantize_multiplier_is_31_bit_exact(r: float) -> None:
    m, s = quantize_multiplier(r)
    assert 2**30 <= m < 2**31 and -31 <= s <= 30
    assert abs(m * 2.0 ** (s - 31) - r) <= r * 2.0**-30


def test_requant_rounds_half_up_like_mf_requant() -> None:
    m, s = quantize_multiplier(0.5)
    assert requant(np.array([1, 3, -1, -3, 5]), m, s).tolist() == [1, 2, 0, -1, 3]


def test_ir_verifier_checks_quantisation() -> None:
    ok = Tensor("w", (4, 2), DType.INT8, quant=QuantInfo((0.1,) * 4, (0,) * 4, 0))
    verify_quant(ok)
    bad = [Tensor("a", (4, 2), DType.FLOAT32, quant=QuantInfo.per_tensor(0.1)),
           Tensor("b", (4, 2), DType.INT8, quant=QuantInfo((0.1,) * 3, (0,) * 3, 0)),
           Tensor("c", (4,), DType.INT8, quant=QuantInfo.per_tensor(-1.0)),
           Tensor("d", (4,), DType.INT8, quant=QuantInfo.per_tensor(0.1, 300))]
    for t in bad:
        with pytest.raises(IRError):
            verify_quant(t)


def _asymmetric_weights() -> onnx.ModelProto:
    m = im.conv_model(3, 4, 3, 1, 1, 1, "relu")
    for init in m.graph.initializer:
        if init.name.startswith("zp") and numpy_helper.to_array(init).shape == (4,):
            init.CopyFrom(numpy_helper.from_array(np.full(4, 3, np.int8), init.name))
    return m


def _int4_weights() -> onnx.ModelProto:
    m = im.conv_model(3, 4, 3, 1, 1, 1, None)
    for init in m.graph.initializer:
        if init.name.startswith("w"):
            w = numpy_helper.to_array(init)
            init.CopyFrom(helper.make_tensor(init.name, TensorProto.INT4, w.shape, np.clip(w, -8, 7).ravel().tolist()))
        elif init.name.startswith("zp") and numpy_helper.to_array(init).shape == (4,):
            init.CopyFrom(helper.make_tensor(init.name, TensorProto.INT4, (4,), [0] * 4))
    return m


@pytest.mark.parametrize("make,words", [(_asymmetric_weights, "asymmetric weights"), (_int4_weights, "int4")])
def test_unsupported_int8_cases_end_in_one_line_naming_the_node(make, words: str, tmp_path) -> None:
    path = tmp_path / "m.onnx"
    onnx.save(make(), path)
    with pytest.raises(UnsupportedOpError) as e:
        compile_model(path)
    assert "node" in str(e.value) and words in str(e.value)
    r = subprocess.run([sys.executable, "-m", "toolchain.cli", "compile", str(path), "-o", str(tmp_path / "o")],
                       capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr.startswith("error: ") and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_overwrite_kind_and_scratch_twins_agree_with_c(tmp_path) -> None:
    """mf_conv2d_overwrite_s8_pointwise / _scratch_bytes (C) against their Python twins."""
    from toolchain.codegen.emit import RUNTIME
    from toolchain.build.host import host_cc
    from toolchain.ops.conv import Window
    from toolchain.ops import int8_kernels  # noqa: F401 - registers the SIMD twins
    from toolchain.ops.qconv import OVERWRITE_SCRATCH, QConvParams, overwrite_kind, overwrite_scratch_bytes
    from toolchain.ops.requant import Requant

    cases = [((1, 6, 9, 7), (6, 1, 3, 3), 6, 1, 1), ((2, 6, 9, 7), (6, 1, 3, 3), 6, 2, 0), ((1, 13, 5, 5), (7, 13, 1, 1), 1, 1, 0),
             ((2, 5, 5, 5), (9, 5, 1, 1), 1, 1, 0), ((1, 5, 5, 5), (9, 5, 1, 1), 1, 1, 0), ((1, 4, 6, 6), (4, 4, 3, 3), 1, 1, 1)]
    lines, want = [], []
    for xs, ws, group, stride, pad in cases:
        win = Window(ws[2:], (stride, stride), (1, 1), (pad,) * 4, 2)
        p = QConvParams(win, group, 0, Requant((1 << 30,), (1,), 0))
        oh, ow = win.out_size(xs[2], xs[3])
        lines.append(f"{{ mf_conv2d_s8_desc d = {{.n = {xs[0]}, .c_in = {xs[1]}, .h_in = {xs[2]}, .w_in = {xs[3]}, "
                     f".c_out = {ws[0]}, .h_out = {oh}, .w_out = {ow}, .k_h = {ws[2]}, .k_w = {ws[3]}, "
                     f".stride_h = {stride}, .stride_w = {stride}, .dil_h = 1, .dil_w = 1, .pad_top = {pad}, "
                     f".pad_left = {pad}, .groups = {group}}}; printf(\"%d %d %d %d %d\\n\", (int)mf_conv2d_overwrite_s8_pointwise(&d), "
                     f"(int)mf_conv2d_overwrite_s8_ref_scratch_bytes(&d), (int)mf_conv2d_overwrite_s8_dsp_scratch_bytes(&d), "
                     f"(int)mf_conv2d_overwrite_s8_mve_scratch_bytes(&d), (int)mf_conv2d_overwrite_s8_rvv_scratch_bytes(&d)); }}")
        kind2 = overwrite_kind(p, xs, ws) == 2
        want.append(f"{int(kind2)} {overwrite_scratch_bytes(p, xs, ws)} "
                    + " ".join(str(OVERWRITE_SCRATCH[isa](p, xs, ws) if kind2 else 0) for isa in ("dsp", "mve", "rvv")))
    main = tmp_path / "t.c"
    main.write_text('#include <stdio.h>\n#include "mf_int8.h"\nint main(void) {\n' + "\n".join(lines) + "\nreturn 0; }\n")
    exe = tmp_path / "t"
    subprocess.run([host_cc(), "-Wall", "-Wextra", "-Werror", "-std=c11", f"-I{RUNTIME / 'include'}", str(main),
                    str(RUNTIME / "src" / "conv_overwrite_s8_ref.c"), *(str(RUNTIME / "src" / f"conv_overwrite_s8_{isa}.c") for isa in ("dsp", "mve", "rvv")),
                    "-o", str(exe)], check=True)
    got = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.split("\n")[:-1]
    assert got == want
    # depthwise runs in blocks; pointwise 7 x 8 (ref), a 12-pixel panel of 16 int16 (dsp: its
    # outputs go straight over the consumed input), 16 x (16 + 7) + 16 uint16 offsets (mve: k
    # rounded up to 16), 16 x (13 x 2 + 7) (rvv)
    assert want[0] == "0 0 0 0 0" and want[2] == "1 56 384 400 528"


def test_int8_kernel_target_follows_the_board_fields() -> None:
    from toolchain.boards import load_board
    from toolchain.codegen.target import kernel_target
    from toolchain.ops.base import LowerCtx

    isas = {b: kernel_target(load_board(b), "int8").isas for b in ("stm32f746-disco", "cortex-m55-an547", "rv32-rvv")}
    assert isas == {"stm32f746-disco": ("dsp", "ref"), "cortex-m55-an547": ("mve", "dsp", "ref"),
                    "rv32-rvv": ("rvv", "ref")}
    assert kernel_target(load_board("stm32f746-disco"), "int8").dtype == "s8"
    # a SIMD variant missing from the runtime falls back to ref
    ctx = LowerCtx({}, kernel_target(load_board("rv32-rvv"), "int8"), frozenset({"mf_conv2d_s8_ref"}))
    assert ctx.kernel("conv2d") == "mf_conv2d_s8_ref"
    ctx = LowerCtx({}, kernel_target(load_board("rv32-rvv"), "int8"), frozenset({"mf_conv2d_s8_ref", "mf_conv2d_s8_rvv"}))
    assert ctx.kernel("conv2d") == "mf_conv2d_s8_rvv"
    assert ctx.kernel("conv2d", "s8", ()) == "mf_conv2d_s8_ref"  # no scratch twin known: ref


def test_cli_quantize_calib_npz_then_verify_and_layers(tmp_path) -> None:
    f = tmp_path / "f.onnx"
    onnx.save(im.float_cnn(), f)
    calib = tmp_path / "calib.npz"
    np.savez(calib, x=np.random.default_rng(0).standard_normal((6, 1, 3, 8, 8)).astype(np.float32))
    q = tmp_path / "q.onnx"
    cli = [sys.executable, "-m", "toolchain.cli"]
    r = subprocess.run(cli + ["quantize", str(f), "-o", str(q), "--calib", str(calib), "--per-channel"],
                       capture_output=True, text=True)
    assert r.returncode == 0 and q.is_file(), r.stderr
    r = subprocess.run(cli + ["verify", str(q), "--layers"], capture_output=True, text=True)
    assert r.returncode == 0 and "MATCH" in r.stdout, r.stdout + r.stderr
    r = subprocess.run(cli + ["verify", str(f), "--dtype", "int8", "--json"], capture_output=True, text=True)
    assert r.returncode == 0 and '"dtype": "int8"' in r.stdout, r.stdout + r.stderr
    r = subprocess.run(cli + ["quantize", str(f), "-o", str(q), "--calib", str(calib), "--calib-random", "3"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.startswith("error: ") and len(r.stderr.strip().splitlines()) == 1
    r = subprocess.run(cli + ["verify", str(f), "--layers"], capture_output=True, text=True)
    assert r.returncode == 2 and "not quantised" in r.stderr


def test_hostile_int8_file_ends_in_one_line(tmp_path) -> None:
    """A quantised model whose weight initializer is truncated: the int8 frontend keeps the
    float frontend's checks (one line, exit 2), not a numpy traceback."""
    m = im.conv_model(3, 4, 3, 1, 1, 1, "relu")
    w = next(i for i in m.graph.initializer if i.name.startswith("w"))
    w.raw_data = numpy_helper.to_array(w).tobytes()[:-5]
    path = tmp_path / "m.onnx"
    path.write_bytes(m.SerializeToString())
    r = subprocess.run([sys.executable, "-m", "toolchain.cli", "compile", str(path), "-o", str(tmp_path / "o")],
                       capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.startswith("error: ") and len(r.stderr.strip().splitlines()) == 1, r.stderr


@pytest.mark.parametrize("scales,relu", [((0.05, 0.02, 0.06), True), ((0.011, 0.09, 0.004), False),
                                         ((0.3, 0.3, 0.3), False)])
def test_add_rows_with_and_without_term_tables_is_the_add_exactly(scales, relu, tmp_path) -> None:
    """mf_add_rows_s8_ref (the QConvAdd band add) against QAdd's numpy reference: both the
    compile-time term tables and the plain per-row path, strided rows, y over b in place,
    over every pair of int8 values (so every table entry and the clamps are hit)."""
    from toolchain.codegen.emit import RUNTIME
    from toolchain.build.host import host_cc
    from toolchain.ops.qconv import add_term
    from toolchain.ops.qelementwise import QAdd, qadd_params

    sa, sb, so = scales
    out_zp = -128 if relu else 7
    p = qadd_params(QuantInfo((sa,), (-3,)), QuantInfo((sb,), (11,)), QuantInfo((so,), (out_zp,)),
                    out_zp if relu else -128, 127)
    rows, n, a_stride, b_stride = 256, 256, 256, 300  # row r of a holds value r - 128
    a = np.repeat(np.arange(-128, 128, dtype=np.int8)[:, None], n, axis=1)
    b = np.zeros((rows, b_stride), np.int8)
    b[:, :n] = np.arange(-128, 128, dtype=np.int8)[None, :]
    b[:, n:] = 99  # between the rows: must survive
    want = QAdd.reference(p, [a.astype(np.int64), b[:, :n].astype(np.int64)])[0]

    def arr(name: str, ctype: str, v) -> str:
        return f"static {ctype} {name}[] = {{{', '.join(str(int(x)) for x in np.ravel(v))}}};"

    src = ['#include <stdio.h>', '#include "mf_int8.h"', arr("a", "const int8_t", a), arr("b0", "const int8_t", b),
           arr("ta", "const int32_t", add_term(p.a_zp, p.a_mult, p.a_shift, p.left_shift)),
           arr("tb", "const int32_t", add_term(p.b_zp, p.b_mult, p.b_shift, p.left_shift)),
           arr("mult", "const int32_t", p.rq.mult), arr("shift", "const int32_t", p.rq.shift),
           f"static int8_t b[{b.size}];",
           "int main(void) {",
           "  for (int lut = 0; lut < 2; ++lut) {",
           "    for (int i = 0; i < (int)sizeof b; ++i) b[i] = b0[i];",
           f"    const mf_add_rows_s8_desc d = {{.add = {{.n = {n}, .a_zp = {p.a_zp}, .b_zp = {p.b_zp}, "
           f".left_shift = {p.left_shift}, .a_mult = {p.a_mult}, .a_shift = {p.a_shift}, .b_mult = {p.b_mult}, "
           f".b_shift = {p.b_shift}, .rq = {{mult, shift, 0, {p.rq.out_zp}, {p.rq.act_min}, {p.rq.act_max}}}}}, "
           f".rows = {rows}, .a_stride = {a_stride}, .b_stride = {b_stride}, .y_stride = {b_stride}, "
           ".a_term = lut ? ta : 0, .b_term = lut ? tb : 0};",
           "    if (mf_add_rows_s8_ref(a, b, b, &d) != MF_OK) return 1;",
           "    for (int i = 0; i < (int)sizeof b; ++i) printf(\"%d\\n\", b[i]);",
           "  }", "  return 0;", "}"]
    main = tmp_path / "t.c"
    main.write_text("\n".join(src) + "\n")
    exe = tmp_path / "t"
    subprocess.run([host_cc(), "-O1", "-Wall", "-Wextra", "-Werror", "-std=c11", f"-I{RUNTIME / 'include'}", str(main),
                    str(RUNTIME / "src" / "add_rows_s8_ref.c"), str(RUNTIME / "src" / "quant_s8_ref.c"), "-lm",
                    "-o", str(exe)], check=True)
    got = np.array(subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.split(), np.int64)
    for run in got.reshape(2, rows, b_stride):  # plain, then tables
        np.testing.assert_array_equal(run[:, :n], want)
        assert np.all(run[:, n:] == 99)
    assert len(np.unique(want)) > 100  # the outputs spread over the range, not one clamp
