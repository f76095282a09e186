"""Fused int8 attention (issue 15; ops/qattention.py, passes/qattention.py,
runtime_c/src/qattention_s8_*.c): QMatMul -> [QLut] -> QSoftmax -> QMatMul run per head on
blocks of query rows through the chain's own kernels.

What must hold, and the tolerance: the fused build's outputs equal the op-by-op build's
bit for bit (0 LSB: the same integer kernels on the same rows); the N x N scores are gone from
the arena, so the 240x240 ViT's arena shrinks and the streamed input finally saves RAM.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from conftest import EXAMPLES
from toolchain.api import CompileOptions, compile_model, write_sources
from toolchain.memory.checker import check_plan
from toolchain.ops.qattention import BLOCK_ROWS, QAttention, scratch_bytes

MODEL = EXAMPLES / "lowrank_vit_240_int8.onnx"
FUSED = CompileOptions()
UNFUSED = replace(CompileOptions(), integrate=False, compete=False)  # the op-by-op chain


def _attention_model(n: int, heads: int, dh: int, scale_mul: bool, k_transposed: bool) -> onnx.ModelProto:
    """A float multi-head attention as the exporters write it: Q, K, V linears, Reshape and
    Transpose to heads, (Q K^T) [* scale], Softmax, x V, back to tokens."""
    d = heads * dh
    rng = np.random.default_rng(n * 100 + heads)
    inits = [helper.make_tensor(name, TensorProto.FLOAT, [d, d], rng.normal(0, 0.4, (d, d)).ravel())
             for name in ("wq", "wk", "wv")]
    inits += [helper.make_tensor("heads_shape", TensorProto.INT64, [4], [1, n, heads, dh]),
              helper.make_tensor("tok_shape", TensorProto.INT64, [3], [1, n, d]),
              helper.make_tensor("scale", TensorProto.FLOAT, [], [dh ** -0.5])]
    nodes = [helper.make_node("MatMul", ["x", w], [f"{w}_o"]) for w in ("wq", "wk", "wv")]
    for t in ("q", "k", "v"):
        nodes.append(helper.make_node("Reshape", [f"w{t}_o", "heads_shape"], [f"{t}_h"]))
    nodes.append(helper.make_node("Transpose", ["q_h"], ["q_t"], perm=[0, 2, 1, 3]))
    nodes.append(helper.make_node("Transpose", ["v_h"], ["v_t"], perm=[0, 2, 1, 3]))
    if k_transposed:  # K^T materialised (the legacy exporter)
        nodes.append(helper.make_node("Transpose", ["k_h"], ["k_t"], perm=[0, 2, 3, 1]))
        nodes.append(helper.make_node("MatMul", ["q_t", "k_t"], ["s"]))
    else:  # K as [n][dh], its transpose a second Transpose of the head layout
        nodes.append(helper.make_node("Transpose", ["k_h"], ["k_hh"], perm=[0, 2, 1, 3]))
        nodes.append(helper.make_node("Transpose", ["k_hh"], ["k_t"], perm=[0, 1, 3, 2]))
        nodes.append(helper.make_node("MatMul", ["q_t", "k_t"], ["s"]))
    if scale_mul:
        nodes.append(helper.make_node("Mul", ["s", "scale"], ["s2"]))
    nodes.append(helper.make_node("Softmax", ["s2" if scale_mul else "s"], ["p"], axis=-1))
    nodes.append(helper.make_node("MatMul", ["p", "v_t"], ["o"]))
    nodes.append(helper.make_node("Transpose", ["o"], ["o_t"], perm=[0, 2, 1, 3]))
    nodes.append(helper.make_node("Reshape", ["o_t", "tok_shape"], ["y"]))
    g = helper.make_graph(nodes, "mha", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", n, d])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", n, d])], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


def _host_outputs(cm, tmp: Path, xs: list[np.ndarray], out_size: int) -> list[np.ndarray]:
    from toolchain.build.host import build_host, run_host

    exe = build_host(write_sources(cm, tmp), 1)
    return [run_host(exe, [x], [out_size])[0] for x in xs]


def g_shape(cm, t: str) -> tuple[int, ...]:
    return cm.graph.tensors[t].shape


def _fused_nodes(cm) -> list:
    return [n for n in cm.graph.nodes if n.op_type == "QAttention"]


@pytest.mark.parametrize("n,heads,dh,scale_mul,k_transposed", [
    (21, 3, 5, True, True),     # 21 query rows: two full blocks of 8 and a tail of 5
    (9, 2, 8, False, False),    # no table between the scores and the softmax
    (1, 1, 3, True, True),      # one token
])
def test_fused_attention_is_bit_exact_with_the_chain_on_the_host(tmp_path, n, heads, dh, scale_mul,
                                                                  k_transposed) -> None:
    from toolchain.quantize import quantize_file
    from toolchain.verify import seeded_inputs

    f = tmp_path / "mha.onnx"
    onnx.save(_attention_model(n, heads, dh, scale_mul, k_transposed), f)
    q = quantize_file(f, tmp_path / "mha.int8.onnx", calib_random=4, seed=0)
    fused, unfused = compile_model(q, options=FUSED), compile_model(q, options=UNFUSED)
    (node,) = _fused_nodes(fused)
    assert node.params.has_lut == scale_mul
    # K^T as one Transpose of the token layout: the heads are read in place; K^T as a
    # transpose of the head layout: the chain's own inputs
    assert node.params.tokens == k_transposed
    assert not _fused_nodes(unfused) and {"QSoftmax", "QMatMul"} <= {x.op_type for x in unfused.graph.nodes}
    assert not any(x.op_type in ("QSoftmax", "QMatMul") for x in fused.graph.nodes)
    check_plan(fused.graph, fused.memory.lifetimes, fused.memory.plan)
    xs = [seeded_inputs(fused, s)[0] for s in range(3)]
    size = n * heads * dh
    a = _host_outputs(fused, tmp_path / "fused", xs, size)
    b = _host_outputs(unfused, tmp_path / "unfused", xs, size)
    for x, ya, yb in zip(xs, a, b):
        assert np.array_equal(ya, yb)
    assert max(np.ptp(y) for y in a) > 0  # the outputs are not a constant


def test_q_shared_with_v_is_not_overwritten(tmp_path) -> None:
    """softmax(x x^T) x: q and v are one tensor, so y must not take q's memory (later blocks
    still read v); the output equals the chain's, bit for bit."""
    from toolchain.quantize import quantize_file
    from toolchain.verify import seeded_inputs

    n, d = 19, 6
    nodes = [helper.make_node("Transpose", ["x"], ["xt"], perm=[0, 2, 1]), helper.make_node("MatMul", ["x", "xt"], ["s"]),
             helper.make_node("Softmax", ["s"], ["p"], axis=-1), helper.make_node("MatMul", ["p", "x"], ["y"])]
    g = helper.make_graph(nodes, "self", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, n, d])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, n, d])])
    f = tmp_path / "self.onnx"
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), f)
    q = quantize_file(f, tmp_path / "self.int8.onnx", calib_random=4, seed=0)
    fused, unfused = compile_model(q, options=FUSED), compile_model(q, options=UNFUSED)
    (node,) = _fused_nodes(fused)
    assert node.inputs[0] == node.inputs[2]
    assert QAttention.alias_candidates(node.params, node, fused.graph) == []
    xs = [seeded_inputs(fused, s)[0] for s in range(2)]
    for ya, yb in zip(_host_outputs(fused, tmp_path / "f", xs, n * d), _host_outputs(unfused, tmp_path / "u", xs, n * d)):
        assert np.array_equal(ya, yb)


def test_numpy_reference_of_the_fused_op_is_the_chains(tmp_path) -> None:
    """The fused node's reference on the chain's inputs is the chain's output (the tensors
    the unfused graph computes, through its own nodes' references)."""
    from toolchain.ops import REGISTRY
    from toolchain.quantize import quantize_file

    f = tmp_path / "mha.onnx"
    onnx.save(_attention_model(13, 2, 4, True, True), f)
    q = quantize_file(f, tmp_path / "mha.int8.onnx", calib_random=4, seed=0)
    fused, unfused = compile_model(q, options=FUSED), compile_model(q, options=UNFUSED)
    (node,) = _fused_nodes(fused)
    rng = np.random.default_rng(0)
    vals = {t: rng.integers(-128, 128, unfused.graph.tensors[t].shape).astype(np.int8) for t in node.inputs[:3]}
    for t, tensor in unfused.graph.tensors.items():
        if tensor.is_const:
            vals[t] = tensor.data
    for x in unfused.graph.nodes:  # the chain: every node whose inputs are known by now
        if all(i in vals for i in x.inputs if i) and x.outputs[0] not in vals:
            vals[x.outputs[0]] = REGISTRY.get(x.op_type).reference(x.params, [vals[i] for i in x.inputs if i])[0]
    ins = [vals[i] if i else None for i in node.inputs]
    assert np.array_equal(QAttention.reference(node.params, ins)[0], vals[node.outputs[0]])


# ---------------------------------------------------------------- the 240x240 ViT


@pytest.fixture(scope="module")
def vit():
    return {"fused": compile_model(MODEL, options=FUSED), "unfused": compile_model(MODEL, options=UNFUSED)}


def test_vit240_attention_scores_leave_the_arena(vit) -> None:
    fused, unfused = vit["fused"], vit["unfused"]
    nodes = _fused_nodes(fused)
    assert len(nodes) == 4  # one per block
    # no 226 x 226 tensor is left anywhere in the fused graph; the unfused one has 3 per block
    nxn = lambda cm: [t for t in cm.graph.tensors.values() if t.shape[-2:] == (226, 226)]  # noqa: E731
    assert not nxn(fused) and len(nxn(unfused)) >= 12
    for n in nodes:
        # the heads are read in place: the exporter's four head Transposes are gone
        assert n.params.tokens and g_shape(fused, n.inputs[0]) == (1, 226, 2, 64)
        (call,) = [c for c in fused.calls[fused.graph.nodes.index(n)]]
        block = call.args[5].fields[0][1].text
        assert int(block) in BLOCK_ROWS and call.scratch_bytes == scratch_bytes(int(block), 226, 64)
    assert sum(x.op_type == "Transpose" for x in unfused.graph.nodes) - \
        sum(x.op_type == "Transpose" for x in fused.graph.nodes) == 4 * 4
    check_plan(fused.graph, fused.memory.lifetimes, fused.memory.plan)
    # the peak was the first QK^T (scores 102,152 B with q, k^T, v and the residual): now it
    # is the patch embedding (the 172,800 B input and the conv's 28,800 B output)
    assert unfused.arena_bytes == 217_872
    assert fused.arena_bytes == 172_800 + 28_800
    print(f"240x240 int8 ViT arena: op-by-op attention {unfused.arena_bytes:,} B, fused {fused.arena_bytes:,} B")


def test_vit240_streamed_input_is_now_smaller_than_the_whole_input(vit) -> None:
    from toolchain.api import stream_summary

    streamed = compile_model(MODEL, options=replace(FUSED, stream_input=True))
    s = stream_summary(streamed, vit["fused"])
    assert s["whole_input_arena_bytes"] == vit["fused"].arena_bytes
    assert s["arena_bytes"] < s["whole_input_arena_bytes"] - 50_000
    check_plan(streamed.graph, streamed.memory.lifetimes, streamed.memory.plan)
    print(f"240x240 int8 ViT arena with mf_model_run_rows: {s['arena_bytes']:,} B "
          f"(whole input: {s['whole_input_arena_bytes']:,} B)")


def test_vit240_logits_bit_exact_with_the_op_by_op_build(vit, tmp_path) -> None:
    from toolchain.verify import seeded_inputs

    xs = [seeded_inputs(vit["fused"], s)[0] for s in (0, 1)]
    a = _host_outputs(vit["fused"], tmp_path / "fused", xs, 10)
    b = _host_outputs(vit["unfused"], tmp_path / "unfused", xs, 10)
    for ya, yb in zip(a, b):
        assert np.array_equal(ya, yb)
    assert not np.array_equal(a[0], a[1])


# ---------------------------------------------------------------- the C kernel alone

sys.path.insert(0, str(Path(__file__).parent / "kernels"))
from vitharness import AttentionS8, run_vit_kernel  # noqa: E402

# tails: query rows not a multiple of the block (21 = 8 + 8 + 5), a block larger than the
# rows, blocks of one row, key counts and head dims off the vector lanes, K as [n][k] and
# [k][n], with and without the table, and the tokens layout (heads read through strides:
# the MatMuls' b_ld, q and y rows through scratch)
KERNEL_SHAPES = [AttentionS8(2, 21, 19, 13, 11, 8), AttentionS8(1, 7, 33, 16, 8, 16, b_trans=True, lut=False),
                 AttentionS8(3, 5, 8, 5, 3, 1, b_trans=True),
                 AttentionS8(2, 19, 19, 13, 13, 8, b_trans=True, tokens=True),
                 AttentionS8(3, 11, 11, 17, 6, 4, b_trans=True, lut=False, tokens=True)]
SIMD = [("stm32f746-disco", "dsp"), ("cortex-m55-an547", "mve"), ("rv32-rvv", "rvv")]


@pytest.mark.parametrize("shape", KERNEL_SHAPES, ids=str)
def test_attention_kernel_reference_is_the_numpy_twin(shape, tmp_path) -> None:
    from toolchain.boards import load_board

    r = run_vit_kernel(load_board("host"), shape, "ref", out_dir=tmp_path)
    np.testing.assert_array_equal(r.ref, r.want)
    assert len(np.unique(r.want)) >= 8, "outputs should spread, not sit at a clamp"


@pytest.mark.qemu
@pytest.mark.parametrize("shape", KERNEL_SHAPES, ids=str)
@pytest.mark.parametrize("board,isa", SIMD, ids=lambda v: v)
def test_attention_simd_kernel_is_bit_exact_with_ref(shape, board, isa, tmp_path) -> None:
    from toolchain.boards import load_board

    r = run_vit_kernel(load_board(board), shape, isa, out_dir=tmp_path)
    np.testing.assert_array_equal(r.ref, r.want)
    np.testing.assert_array_equal(r.fast, r.ref)
    assert r.instructions > 0


def test_vit240_arena_on_stm32f746_whole_and_streamed() -> None:
    """The board's kernels (DSP MatMul, conv and linear scratch): the arena before and after
    the fusion, and with mf_model_run_rows, which before the fusion saved nothing (the peak
    was the scores, not the input)."""
    from toolchain.boards import load_board
    from toolchain.codegen.target import kernel_target

    target = kernel_target(load_board("stm32f746-disco"), "int8")  # as `mcuforge build` does
    arena = {}
    for name, opts in (("op-by-op", replace(UNFUSED, target=target)), ("fused", replace(FUSED, target=target))):
        for stream in (False, True):
            cm = compile_model(MODEL, options=replace(opts, stream_input=stream))
            check_plan(cm.graph, cm.memory.lifetimes, cm.memory.plan)
            arena[name, stream] = cm.arena_bytes
            print(f"stm32f746-disco, {name} attention, {'streamed' if stream else 'whole'} input: "
                  f"arena {cm.arena_bytes:,} B")
    assert arena["op-by-op", True] == arena["op-by-op", False]  # the issue: streaming saved nothing
    assert arena["fused", False] < arena["op-by-op", False]
    assert arena["fused", True] < arena["fused", False] - 50_000


@pytest.mark.qemu
@pytest.mark.slow
def test_vit240_streamed_in_qemu_uses_less_ram_and_gives_the_same_logits(tmp_path) -> None:
    """Issue 15's must-show on stm32f746-disco: mf_model_run_rows fed row by row gives the
    whole-input build's logits to the bit, in a smaller linked RAM (arena + stack + data)."""
    from toolchain.run import build_for_board
    from toolchain.sim import run_firmware

    runs = {}
    for tag, opts in (("whole", FUSED), ("stream", replace(FUSED, stream_input=True))):
        bb = build_for_board(MODEL, "stm32f746-disco", tmp_path / tag, None, opts, 0)
        res = run_firmware(bb.build, 900)
        assert res.status == 0
        runs[tag] = (bb, res)
        print(f"240x240 int8 ViT on stm32f746-disco, {tag} input: RAM {bb.build.ram_bytes:,} B "
              f"(arena {bb.compiled.arena_bytes:,} B), {res.instructions:,} instructions")
    for a, b in zip(runs["whole"][1].outputs, runs["stream"][1].outputs):
        assert np.asarray(a).tobytes() == np.asarray(b).tobytes()
    assert runs["stream"][0].build.ram_bytes < runs["whole"][0].build.ram_bytes - 50_000


def test_scratch_bytes_agree_with_c(tmp_path) -> None:
    """mf_attention_s8_scratch_bytes (C, host gcc) against its Python twin, in both layouts."""
    import subprocess

    from toolchain.codegen import RUNTIME

    cases = [(8, 226, 64, 64, False), (16, 19, 13, 11, False), (8, 226, 64, 64, True), (4, 11, 17, 6, True),
             (1, 5, 3, 9, True)]
    lines = []
    for block, n, k, dv, tokens in cases:
        heads = 2  # tokens layout: rows of heads * d elements
        q_ld, y_ld = (heads * k, heads * dv) if tokens else (0, 0)
        lines.append(f"{{ mf_attention_s8_desc d = {{.block = {block}, .qk = {{.n = {n}, .k = {k}}}, "
                     f".av = {{.n = {dv}, .k = {n}}}, .q_ld = {q_ld}, .y_ld = {y_ld}}}; "
                     f'printf("%d\\n", (int)mf_attention_s8_scratch_bytes(&d)); }}')
    main = tmp_path / "main.c"
    main.write_text('#include <stdio.h>\n#include "mf_int8_vit.h"\nint main(void) {\n' + "\n".join(lines)
                    + "\nreturn 0; }\n")
    src = Path(RUNTIME) / "src"
    srcs = [str(src / f) for f in ("qattention_s8_ref.c", "qmatmul_s8_ref.c", "qlut_s8_ref.c", "softmax_s8_ref.c")]
    exe = tmp_path / "sizes"
    subprocess.run(["gcc", "-std=c11", "-Wall", "-Wextra", "-Werror", f"-I{Path(RUNTIME) / 'include'}", str(main),
                    *srcs, "-o", str(exe)], check=True)
    got = [int(v) for v in subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.split()]
    assert got == [scratch_bytes(b, n, max(k, dv) if t else 0) for b, n, k, dv, t in cases]
