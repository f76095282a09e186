"""In-place CNN scheduling (issue 4): depthwise and pointwise convs written over their input
(DS-CNN), residual convs written over their skip (ResNet-8).

Kernels run with y over x (or over skip) on odd shapes and are compared with numpy; their
scratch sizes with the Python twins; the models with onnxruntime; the plans go through the
checker; the arenas are asserted exactly."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from conftest import REAL_MODELS
from toolchain.api import CompileOptions, compile_model
from toolchain.boards import load_board
from toolchain.codegen.target import kernel_target
from toolchain.frontend import load_onnx
from toolchain.interp import run_graph
from toolchain.memory import check_plan
from toolchain.ops.conv import (
    ConvParams, ConvShape, Window, conv_cols, conv_reference, overwrite_kind, overwrite_scratch_bytes,
    residual_scratch_bytes,
)
from toolchain.ops.elementwise import Act, apply_act
from toolchain.passes import optimize
from toolchain.verify import verify

KERNEL_DIR = Path(__file__).resolve().parent / "kernels"
sys.path.insert(0, str(KERNEL_DIR))
from harness import Case as HCase, run, sanitized, words  # noqa: E402
from kharness import ConvWindow  # noqa: E402

KERNELS = ("ow_f32_ref", "ow_f32_dsp", "res_f32_ref", "res_f32_dsp", "ow_f16_ref")  # harness order
ACTS = ("NONE", "RELU", "SIGMOID")


# ---------------------------------------------------------------- kernels on the host


@dataclass(frozen=True)
class Case(ConvWindow):
    kernel: str = ""
    n: int = 1
    act: str = "RELU"

    def __str__(self) -> str:
        return (f"{self.kernel}-n{self.n}-{self.c_in}to{self.c_out}-{self.h}x{self.w}-k{self.k}s{self.stride}"
                f"p{self.pad}g{self.groups}-{self.act}")

    @property
    def params(self) -> ConvParams:
        k, s, p = self.k, self.stride, self.pad
        return ConvParams(Window((k, k), (s, s), (1, 1), (p, p, p, p), 2), self.groups, Act(self.act))

    @property
    def out_hw(self) -> tuple[int, int]:
        return self.params.win.out_size(self.h, self.w)

    @property
    def shape(self) -> ConvShape:
        return ConvShape(self.c_in, self.c_out, self.groups, (self.k, self.k), (self.stride, self.stride),
                         (self.pad, self.pad), (self.h, self.w), self.out_hw)


DW, DW_S2 = dict(k=3, stride=1, pad=1), dict(k=3, stride=2, pad=1)
PW = dict(k=1, stride=1, pad=0)
CASES = [
    # depthwise, stride 1 with padding; stride 2 (output plane smaller than the input's), batch 2
    Case(5, 5, 7, 9, kernel="ow_f32_ref", n=1, groups=5, **DW),
    Case(5, 5, 7, 9, kernel="ow_f32_dsp", n=1, groups=5, **DW),
    Case(3, 3, 9, 7, kernel="ow_f32_ref", n=2, groups=3, act="SIGMOID", **DW_S2),
    Case(3, 3, 9, 7, kernel="ow_f32_dsp", n=2, groups=3, act="NONE", **DW_S2),
    # pointwise with c_out < c_in (21 pixels: a partial tile), batch 2; c_out > c_in at batch 1
    Case(7, 5, 3, 7, kernel="ow_f32_ref", n=2, **PW), Case(7, 5, 3, 7, kernel="ow_f32_dsp", n=2, act="SIGMOID", **PW),
    Case(3, 6, 5, 3, kernel="ow_f32_dsp", n=1, act="NONE", **PW),
    Case(5, 5, 7, 9, kernel="ow_f16_ref", n=1, groups=5, **DW),
    Case(7, 5, 3, 7, kernel="ow_f16_ref", n=2, act="SIGMOID", **PW),
    # residual: 3x3 with act (63 pixels: a partial chunk), strided, grouped, pointwise
    Case(6, 5, 7, 9, kernel="res_f32_ref", n=1), Case(6, 5, 7, 9, kernel="res_f32_dsp", n=1),
    Case(6, 4, 9, 7, kernel="res_f32_ref", n=2, act="SIGMOID", **DW_S2),
    Case(6, 4, 5, 5, kernel="res_f32_dsp", n=1, groups=2),
    Case(4, 6, 5, 3, kernel="res_f32_dsp", n=1, act="NONE", **PW),
]


def _operands(case: Case, rng: np.random.Generator) -> list[np.ndarray]:
    oh, ow = case.out_hw
    x = rng.standard_normal((case.n, case.c_in, case.h, case.w)).astype(np.float32)
    w = rng.standard_normal((case.c_out, case.c_in // case.groups, case.k, case.k)).astype(np.float32)
    b = rng.standard_normal(case.c_out).astype(np.float32)
    skip = rng.standard_normal((case.n, case.c_out, oh, ow)).astype(np.float32)
    if "f16" in case.kernel:  # the kernel sees FP16 operands: so does the reference
        x, w, b = (a.astype(np.float16).astype(np.float32) for a in (x, w, b))
    return [x, w, b, skip]


# a regular 3x3 conv: the C kernel refuses it and its size function says 0
REFUSED = Case(4, 4, 5, 5, kernel="ow_f32_ref", n=1)


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list]:
    """Every case of CASES, then REFUSED, in one sanitized host build (tests/kernels/conv_inplace.c):
    per case its scratch bytes, status, the output into a separate buffer and the output over
    its input (or skip), and the operands it ran on."""
    heads, data, operands = [], [], []
    for c in CASES:
        ops = _operands(c, np.random.default_rng(7))
        operands.append(ops)
        data += ops if c.kernel.startswith("res") else ops[:3]
    rng = np.random.default_rng(0)
    data += [rng.standard_normal(n).astype(np.float32) for n in (100, 144, 4)]
    for c in [*CASES, REFUSED]:
        oh, ow = c.out_hw
        heads.append([KERNELS.index(c.kernel), c.n, c.c_in, c.h, c.w, c.c_out, oh, ow, c.k, c.k, c.stride, c.stride,
                      c.pad, c.pad, c.groups, ACTS.index(c.act)])
    sizes = [c.n * c.c_out * c.out_hw[0] * c.out_hw[1] for c in [*CASES, REFUSED]]
    case = HCase(KERNEL_DIR / "conv_inplace.c", {f"mf_conv2d_{k}" for k in ("overwrite_f32_ref", "overwrite_f32_dsp",
                                                                         "residual_f32_ref", "residual_f32_dsp",
                                                                         "overwrite_f16_ref")},
                 {"heads": words(np.array(heads, np.int32)), "data": np.concatenate([a.reshape(-1) for a in data])},
                 {"scratch": len(heads), "status": len(heads), "y": 2 * sum(sizes)})
    out = run(sanitized(load_board("host")), case, out_dir=tmp_path_factory.mktemp("conv_inplace")).outputs
    ys = np.split(out["y"], np.cumsum([2 * s for s in sizes])[:-1])
    return {"scratch": list(out["scratch"]), "status": list(out["status"]), "y": ys, "operands": operands}


@pytest.mark.parametrize("i", range(len(CASES)), ids=[str(c) for c in CASES])
def test_kernel_over_its_input(harness: dict[str, list], i: int) -> None:
    case = CASES[i]
    x, w, b, skip = harness["operands"][i]
    assert harness["status"][i] == 0
    out = np.concatenate([[harness["scratch"][i]], harness["y"][i]]).astype(np.float64)
    residual = case.kernel.startswith("res")
    isa, elem = case.kernel.split("_")[2], 2 if "f16" in case.kernel else 4
    want_scratch = (residual_scratch_bytes(case.shape, elem, conv_cols(isa)) if residual
                    else overwrite_scratch_bytes(case.shape, case.n, elem))
    assert int(out[0]) == want_scratch > 0  # the C size function and its Python twin agree
    if residual:
        ref = conv_reference(x, w, b, ConvParams(case.params.win, case.groups))
        ref = apply_act(Act(case.act), (ref.astype(np.float64) + skip)).reshape(-1)
    else:
        ref = conv_reference(x, w, b, case.params).astype(np.float64).reshape(-1)
    tol = 1e-2 if "f16" in case.kernel else 1e-5
    separate, aliased = out[1:1 + ref.size], out[1 + ref.size:]
    np.testing.assert_allclose(separate, ref, atol=tol * max(1.0, np.abs(ref).max()))
    np.testing.assert_allclose(aliased, separate, atol=0)  # over its input: bit for bit the same


def test_shapes_that_cannot_overwrite(harness: dict[str, list]) -> None:
    # a regular 3x3 conv: the C kernel refuses it and both size functions say 0
    c = REFUSED
    assert harness["status"][-1] == 1 and harness["scratch"][-1] == 0
    assert overwrite_kind(c.shape, 1) == "" and overwrite_scratch_bytes(c.shape, 1, 4) == 0
    # depthwise with a channel multiplier, pointwise widening at batch 2, strided 1x1
    assert overwrite_kind(ConvShape(4, 8, 4, (3, 3), (1, 1), (1, 1), (5, 5), (5, 5)), 1) == ""
    assert overwrite_kind(ConvShape(4, 8, 1, (1, 1), (1, 1), (0, 0), (5, 5), (5, 5)), 2) == ""
    assert overwrite_kind(ConvShape(4, 8, 1, (1, 1), (1, 1), (0, 0), (5, 5), (5, 5)), 1) == "pointwise"
    assert overwrite_kind(ConvShape(4, 4, 1, (1, 1), (2, 2), (0, 0), (6, 6), (3, 3)), 1) == ""


# ---------------------------------------------------------------- models


def _conv_aliases(cm) -> dict[str, int]:
    nodes = {n.name: n for n in cm.graph.nodes}
    out: dict[str, int] = {}
    for a in cm.memory.lifetimes.aliases:
        if nodes[a.node].op_type == "Conv":
            out[a.kind] = out.get(a.kind, 0) + 1
    return out


@pytest.mark.parametrize("model", ["resnet8", "dscnn"])
def test_model_matches_onnxruntime_with_the_inplace_schedule(model: str) -> None:
    r = verify(REAL_MODELS[model], sanitize=True)
    assert r.match, r.as_dict()


def test_resnet8_convs_write_over_their_skips() -> None:
    cm = compile_model(REAL_MODELS["resnet8"])
    residual = [n for n in cm.graph.nodes if n.op_type == "Conv" and n.params.residual]
    assert len(residual) == 3 and not any(n.op_type == "Add" for n in cm.graph.nodes)
    assert _conv_aliases(cm) == {"inplace": 3}
    check_plan(cm.graph, cm.memory.lifetimes, cm.memory.plan)


def test_dscnn_convs_write_over_their_inputs() -> None:
    cm = compile_model(REAL_MODELS["dscnn"])
    assert _conv_aliases(cm) == {"overwrite": 8}  # 4 depthwise + 4 pointwise
    assert sum(c.kernel == "mf_conv2d_overwrite_f32_ref" for cs in cm.calls for c in cs) == 8
    check_plan(cm.graph, cm.memory.lifetimes, cm.memory.plan)


def test_residual_pass_preserves_values() -> None:
    g = load_onnx(REAL_MODELS["resnet8"])
    x = np.random.default_rng(1).standard_normal(g.tensors[g.inputs[0]].shape).astype(np.float32)
    fused, plain = optimize(g), optimize(g, integrate=False)
    np.testing.assert_allclose(run_graph(fused, [x])[0], run_graph(plain, [x])[0], atol=1e-5)


def test_conv_added_to_its_own_input_is_fused_but_not_aliased(tmp_path: Path) -> None:
    # y = relu(conv(x) + x): the skip is the conv's input, which must stay whole for the conv
    rng = np.random.default_rng(3)
    w = helper.make_tensor("w", TensorProto.FLOAT, (4, 4, 3, 3), rng.standard_normal(144).astype(np.float32))
    nodes = [helper.make_node("Relu", ["in"], ["x"]),
             helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Add", ["c", "x"], ["s"]), helper.make_node("Relu", ["s"], ["y"])]
    io = [helper.make_tensor_value_info(n, TensorProto.FLOAT, (1, 4, 6, 6)) for n in ("in", "y")]
    graph = helper.make_graph(nodes, "self_residual", io[:1], io[1:], [w])
    path = tmp_path / "self_residual.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)
    cm = compile_model(path, options=CompileOptions(compete=False))  # the fused graph, even if not the smallest
    assert [n.params.residual for n in cm.graph.nodes if n.op_type == "Conv"] == [True]
    assert _conv_aliases(cm) == {}
    assert verify(path, sanitize=True).match


def test_board_kernels_for_the_inplace_convs() -> None:
    target = kernel_target(load_board("stm32f746-disco"))
    res = compile_model(REAL_MODELS["resnet8"], options=CompileOptions(target=target))
    ds = compile_model(REAL_MODELS["dscnn"], options=CompileOptions(target=target))
    assert sum(c.kernel == "mf_conv2d_residual_f32_dsp" for cs in res.calls for c in cs) == 3
    assert sum(c.kernel == "mf_conv2d_overwrite_f32_dsp" for cs in ds.calls for c in cs) == 8
    # the board arenas also hold the im2col scratch of the dsp convs
    assert (res.arena_bytes, ds.arena_bytes) == (133632, 34608)


def test_exact_arenas_and_the_gain_over_op_by_op() -> None:
    ours = {m: compile_model(REAL_MODELS[m]).arena_bytes for m in ("resnet8", "dscnn")}
    greedy = {m: compile_model(REAL_MODELS[m], options=CompileOptions.schedule("naive")).arena_bytes
              for m in ("resnet8", "dscnn")}
    # ResNet-8: block 1's input (the skip) and middle map, 64 KiB each, plus the residual
    # conv's 2.5 KB tile + im2col panel. DS-CNN: the first conv's input and output.
    assert ours == {"resnet8": 133632, "dscnn": 34048}
    assert greedy == {"resnet8": 196608, "dscnn": 64000}
    assert all(ours[m] <= 0.8 * greedy[m] for m in ours)


def test_naive_schedule_keeps_the_plain_kernels() -> None:
    cm = compile_model(REAL_MODELS["dscnn"], options=CompileOptions.schedule("naive"))
    assert all(c.kernel == "mf_conv2d_f32_ref" for n, cs in zip(cm.graph.nodes, cm.calls) if n.op_type == "Conv"
               for c in cs)
