"""The flash report split into code, weights and scales (sim/flashsplit.py), read from the
linked ELF: weights are exactly the model's weight arrays, "weights (kernel layout)" exactly
the DSP convs' widened copies of them, scales exactly the int8 requantisation tables the
lowered calls carry, and the parts add up to the flash used."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from conftest import MODELS, REAL_MODELS
from toolchain.api import CompileOptions
from toolchain.ops.base import Array, IntArray, Struct
from toolchain.sim.flashsplit import KERNEL_WEIGHTS

RESNET8_INT8 = MODELS / "resnet8_int8.onnx"


def _widened_bytes(path: Path) -> list[int]:
    """Per Conv of the ONNX file (QDQ: int8 initializer -> DequantizeLinear -> Conv), the bytes
    of its weights as the M7 DSP GEMM reads them, worked out from the file alone: each output
    channel's c_in x kh x kw int8 weights zero-padded to a multiple of 4 and widened to int16
    (SMLAD pairs, docs/int8.md). Only for files whose every conv is widened (checked here: no
    depthwise conv, none above the 40 KiB cut-off), as ResNet-8's are."""
    m = onnx.load(str(path))
    inits = {i.name: i for i in m.graph.initializer}
    producer = {o: n for n in m.graph.node for o in n.output}
    out = []
    for n in m.graph.node:
        if n.op_type != "Conv":
            continue
        w = numpy_helper.to_array(inits[producer[n.input[1]].input[0]])
        assert w.dtype == np.int8 and w.shape[1] > 1 and w.size <= 40 * 1024
        k = int(np.prod(w.shape[1:]))
        out.append(w.shape[0] * ((k + 3) // 4 * 4) * 2)
    return out


def _scale_table_bytes(calls) -> int:  # noqa: ANN001
    """4 bytes per entry of every distinct mult/shift table in the calls' descriptors (codegen
    emits one table per distinct contents)."""
    tables: set[tuple[int, ...]] = set()

    def walk(a: object, field: str = "") -> None:
        if isinstance(a, Struct):
            for k, v in a.fields:
                walk(v, k)
        elif isinstance(a, Array):
            for v in a.items:
                walk(v)
        elif isinstance(a, IntArray) and field in ("mult", "shift"):
            tables.add(tuple(a.values))
    for cs in calls:
        for c in cs:
            for x in c.args:
                walk(x)
    return sum(4 * max(len(t), 1) for t in tables)


@pytest.mark.parametrize("model", [MODELS / "resnet8_int8.onnx", REAL_MODELS["vit_opset18"]],
                         ids=["resnet8_int8", "vit_tiny"])
def test_flash_split_from_the_elf(model: Path, tmp_path: Path) -> None:
    from fixtures.sim_support import require_tools
    from toolchain.boards import load_board
    from toolchain.run import build_for_board

    if not model.is_file():
        pytest.skip(f"{model} not present")
    board = load_board("stm32f746-disco")
    require_tools(board)
    bb = build_for_board(model, board, tmp_path, None, CompileOptions(), 0)
    split = bb.build.flash_split
    assert sum(split.values()) == bb.build.flash_bytes
    # the widened copies are weights: CompiledModel.weight_bytes counts them, the split shows
    # them on their own line (they used to fall into "other constants")
    assert split["weights"] + split[KERNEL_WEIGHTS] == bb.compiled.weight_bytes
    assert split[KERNEL_WEIGHTS] == bb.compiled.kernel_weight_bytes
    assert split["scales"] == _scale_table_bytes(bb.compiled.calls)
    assert split["code"] > 0 and split["other constants"] >= 0
    if "int8" in model.name:
        assert split["scales"] > 0
        widened = _widened_bytes(model)
        assert len(widened) == 9 and split[KERNEL_WEIGHTS] == sum(widened) == 153_472
        # one n<i>_w<k> array per conv, each its conv's widened size (no other table named so)
        from toolchain.sim.elfinfo import read_elf

        syms = read_elf(bb.build.elf).symbols.values()
        assert sorted(s.size for s in syms if re.fullmatch(r"n\d+_w\d+", s.name)) == sorted(widened)
    else:
        assert split["scales"] == 0 and split[KERNEL_WEIGHTS] == 0
    assert bb.as_dict()["flash_split"] == split
    assert bb.as_dict()["kernel_weight_bytes"] == split[KERNEL_WEIGHTS]


def test_kernel_layout_weights_are_counted_as_weights(tmp_path: Path) -> None:
    """Host only (no cross compiler): on the M7's DSP kernels ResNet-8 int8 carries one widened
    copy per conv, counted in weight_bytes and model.h, emitted as model.c's n<i>_w<k> tables
    of the size the file's convs give; the reference kernels carry none."""
    from toolchain.api import compile_model, write_sources
    from toolchain.boards import load_board
    from toolchain.codegen.target import kernel_target

    if not RESNET8_INT8.is_file():
        pytest.skip(f"{RESNET8_INT8} not present")
    widened = _widened_bytes(RESNET8_INT8)
    m7 = load_board("stm32f746-disco")
    dsp = compile_model(RESNET8_INT8, None, CompileOptions(target=kernel_target(m7, "int8")))
    ref = compile_model(RESNET8_INT8, None, CompileOptions(target=kernel_target(None, "int8")))
    assert "dsp" in dsp.target.isas
    assert dsp.kernel_weight_bytes == sum(widened) == 153_472
    assert ref.kernel_weight_bytes == 0
    assert dsp.weight_bytes == ref.weight_bytes + sum(widened)
    assert dsp.report()["kernel_weight_bytes"] == sum(widened)
    write_sources(dsp, tmp_path)
    tables = re.findall(r"static const int32_t (n\d+_w\d+)\[\] = \{([^}]*)\};", (tmp_path / "model.c").read_text())
    assert sorted(4 * len(vals.split(",")) for _, vals in tables) == sorted(widened)
    h = (tmp_path / "model.h").read_text()
    assert f"#define MF_MODEL_WEIGHT_BYTES {dsp.weight_bytes}\n" in h
    assert f"#define MF_MODEL_KERNEL_WEIGHT_BYTES {sum(widened)}\n" in h


def test_build_prints_the_kernel_layout_weights(tmp_path: Path) -> None:
    """`mcuforge build` (text): the split line names the widened weights apart."""
    from click.testing import CliRunner

    from fixtures.sim_support import require_tools
    from toolchain.boards import load_board
    from toolchain.cli import main

    if not RESNET8_INT8.is_file():
        pytest.skip(f"{RESNET8_INT8} not present")
    require_tools(load_board("stm32f746-disco"))
    res = CliRunner().invoke(main, ["build", str(RESNET8_INT8), "--board", "stm32f746-disco",
                                    "-o", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    line = next(x for x in res.output.splitlines() if "weights (kernel layout)" in x)
    assert f"weights (kernel layout) {sum(_widened_bytes(RESNET8_INT8)):,} B" in line
