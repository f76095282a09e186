"""Kernels are chosen after the memory plan (toolchain.api.choose_kernels): an op calls its
overwrite-safe kernel exactly where the planner gave its output the input's bytes, and the
SIMD overwrite kernels match the reference in the same QEMU binary, over their own input,
on shapes with vector tails."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from conftest import REAL_MODELS
from toolchain.api import CompileOptions, compile_model
from toolchain.boards import load_board
from toolchain.codegen.emit import RUNTIME
from toolchain.codegen.target import kernel_target
from toolchain.memory import check_plan
from toolchain.ops.conv import ConvShape, overwrite_scratch_bytes_rvv
from toolchain.verify import verify

sys.path.insert(0, str(Path(__file__).parent / "kernels"))
from kharness import ConvOverwrite, run_kernel  # noqa: E402


def _overwrite_nodes(cm) -> set[str]:
    """Conv nodes whose output took its input's bytes (token chains overwrite too)."""
    convs = {n.name for n in cm.graph.nodes if n.op_type == "Conv"}
    return {a.node for a in cm.memory.lifetimes.aliases if a.kind == "overwrite" and a.node in convs}


def _overwrite_calls(cm) -> set[str]:
    return {n.name for n, cs in zip(cm.graph.nodes, cm.calls) if any("conv2d_overwrite" in c.kernel for c in cs)}


def _two_depthwise(path: Path) -> Path:
    """x -> dw1 -> a; a -> dw2 -> b; y = b * a. dw1's input dies at dw1 (its alias is taken);
    dw2's input `a` is read again by the Mul (no alias possible, so the plain kernel)."""
    rng = np.random.default_rng(5)
    ws = [helper.make_tensor(f"w{i}", TensorProto.FLOAT, (8, 1, 3, 3), rng.standard_normal(72).astype(np.float32))
          for i in (1, 2)]
    nodes = [helper.make_node("Relu", ["in"], ["x"]),
             helper.make_node("Conv", ["x", "w1"], ["a"], group=8, pads=[1, 1, 1, 1]),
             helper.make_node("Conv", ["a", "w2"], ["b"], group=8, pads=[1, 1, 1, 1]),
             helper.make_node("Mul", ["b", "a"], ["y"])]
    io = [helper.make_tensor_value_info(n, TensorProto.FLOAT, (1, 8, 6, 5)) for n in ("in", "y")]
    graph = helper.make_graph(nodes, "two_depthwise", io[:1], io[1:], ws)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)
    return path


def test_overwrite_kernel_only_where_the_alias_was_taken(tmp_path: Path) -> None:
    path = _two_depthwise(tmp_path / "two_dw.onnx")
    cm = compile_model(path)
    convs = [n.name for n in cm.graph.nodes if n.op_type == "Conv"]
    assert len(convs) == 2
    # both convs could overwrite by shape; only the first one's input dies there
    assert _overwrite_nodes(cm) == _overwrite_calls(cm) == {convs[0]}
    kernels = {n.name: [c.kernel for c in cs] for n, cs in zip(cm.graph.nodes, cm.calls)}
    assert kernels[convs[1]] == ["mf_conv2d_f32_ref"]
    check_plan(cm.graph, cm.memory.lifetimes, cm.memory.plan)
    assert verify(path, sanitize=True).match


@pytest.mark.parametrize("board,dtype", [("rv32-rvv", "fp16"), ("stm32f746-disco", "fp32"),
                                         ("cortex-m55-an547", "fp16")])
@pytest.mark.parametrize("overwrite", [True, False])
def test_dscnn_kernels_follow_the_plan(board: str, dtype: str, overwrite: bool) -> None:
    target = kernel_target(load_board(board), dtype)
    cm = compile_model(REAL_MODELS["dscnn"], options=CompileOptions(target=target, overwrite=overwrite))
    assert _overwrite_nodes(cm) == _overwrite_calls(cm)
    assert len(_overwrite_calls(cm)) == (8 if overwrite else 0)  # 4 depthwise + 4 pointwise
    isa = target.isas[0]
    assert all(c.kernel.endswith(isa) for n, cs in zip(cm.graph.nodes, cm.calls) if n.op_type == "Conv" for c in cs)


def test_rvv_overwrite_scratch_agrees_with_c(tmp_path: Path) -> None:
    # c_in, c_out, groups, k, stride, pad, h, w, dilation
    shapes = [(64, 64, 64, 3, 1, 1, 25, 5, 1), (24, 24, 24, 3, 2, 1, 10, 13, 1), (8, 8, 8, 3, 1, 2, 9, 7, 2),
              (64, 64, 1, 1, 1, 0, 25, 5, 1), (6, 10, 1, 1, 1, 0, 5, 7, 1), (12, 8, 4, 3, 1, 1, 9, 11, 1)]
    lines, want = [], []
    for ci, co, g, k, s, p, h, w, dl in shapes:
        span = (k - 1) * dl + 1
        oh, ow = (h + 2 * p - span) // s + 1, (w + 2 * p - span) // s + 1
        lines.append(f'{{ mf_conv2d_desc d = {{.n = 1, .c_in = {ci}, .h_in = {h}, .w_in = {w}, .c_out = {co}, '
                     f'.h_out = {oh}, .w_out = {ow}, .k_h = {k}, .k_w = {k}, .stride_h = {s}, .stride_w = {s}, '
                     f'.dil_h = {dl}, .dil_w = {dl}, .pad_top = {p}, .pad_left = {p}, .groups = {g}}}; '
                     f'printf("%d\\n", (int)mf_conv2d_overwrite_scratch_bytes_rvv(&d, 2)); }}')
        want.append(overwrite_scratch_bytes_rvv(ConvShape(ci, co, g, (k, k), (s, s), (p, p), (h, w), (oh, ow),
                                                          (dl, dl)), 1, 2))
    main = tmp_path / "main.c"
    main.write_text('#include <stdio.h>\n#include "mf_conv.h"\nint main(void) {\n' + "\n".join(lines)
                    + "\nreturn 0; }\n")
    exe = tmp_path / "sizes"
    src = RUNTIME / "src"
    subprocess.run(["gcc", "-std=c11", "-Wall", "-Wextra", "-Werror", f"-I{RUNTIME / 'include'}", str(main),
                    str(src / "conv_overwrite_f16_rvv.c"), str(src / "conv_overwrite_f32_ref.c"),
                    str(src / "conv_im2col_f32_ref.c"), str(src / "conv_f32_ref.c"), str(src / "gemm_f32_ref.c"),
                    str(src / "elementwise_f32_ref.c"), "-lm", "-o", str(exe)],
                   check=True)
    got = [int(v) for v in subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.split()]
    assert got == want and all(v > 0 for v in got[:-1]) and got[-1] == 0  # grouped 3x3: cannot overwrite


# depthwise with 13- and 7-wide rows (vector tails), stride 2, pointwise over 35 pixels (a
# 3-column last tile), c_out > c_in, no fused activation
OVERWRITE_SHAPES = [ConvOverwrite(24, 24, 10, 13, groups=24), ConvOverwrite(9, 9, 11, 14, stride=2, groups=9),
                    ConvOverwrite(6, 10, 5, 7, k=1, pad=0), ConvOverwrite(16, 8, 4, 9, k=1, pad=0, act="MF_ACT_NONE")]


@pytest.mark.qemu
@pytest.mark.parametrize("board,isa", [("rv32-rvv", "rvv"), ("cortex-m55-an547", "mve")])
@pytest.mark.parametrize("shape", OVERWRITE_SHAPES, ids=str)
def test_simd_overwrite_kernel_over_its_input_matches_ref(board: str, isa: str, shape: ConvOverwrite,
                                                          tmp_path: Path) -> None:
    from fixtures.sim_support import require_tools

    b = load_board(board)
    require_tools(b)
    r = run_kernel(b, shape, "f16", isa, out_dir=tmp_path)
    scale = max(1.0, float(np.max(np.abs(r.ref))))
    assert float(np.max(np.abs(r.fast - r.ref))) <= 1e-2 * scale
    assert r.instructions > 0
