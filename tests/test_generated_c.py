"""Generated C says what it holds: every arena pointer goes through a named macro whose comment
gives tensor, size and live range; memory_map.txt lists the same plan in full; the header
records the options and the mcuforge version."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import REAL_MODELS
from toolchain import __version__
from toolchain.api import CompileOptions, compile_model, write_sources
from toolchain.boards import load_board
from toolchain.codegen.target import kernel_target
from toolchain.memory.lifetimes import SCRATCH
from toolchain.train.api import prepare
from toolchain.train.program import render_training
from toolchain.train.spec import OptimizerSpec


def _map_rows(path: Path) -> list[tuple[str, int, int, int, int, int, str]]:
    rows = []
    for line in path.read_text().splitlines():
        if line.startswith("#"):
            continue
        macro, off, end, nbytes, first, last, tensor, *_ = line.split("\t")
        rows.append((macro, int(off), int(end), int(nbytes), int(first), int(last), tensor))
    return rows


def test_arena_pointers_are_named_and_mapped(tmp_path: Path) -> None:
    target = kernel_target(load_board("rv32-rvv"), "fp16")
    cm = compile_model(REAL_MODELS["dscnn"], options=CompileOptions(target=target))
    write_sources(cm, tmp_path)
    model_c = (tmp_path / "model.c").read_text()
    defines = dict(re.findall(r"^#define (MF_A\d+) \(mf_arena \+ (\d+)\) /\* .+: \d+ B, nodes -?\d+\.\.\d+", model_c,
                              re.M))
    # no pointer into the arena except through the map
    assert len(re.findall(r"mf_arena \+", model_c)) == len(defines)
    rows = _map_rows(tmp_path / "memory_map.txt")
    assert {r[0]: str(r[1]) for r in rows} == defines
    lt = cm.memory.lifetimes
    want = {(f"scratch of node {t[len(SCRATCH):]}" if t.startswith(SCRATCH) else t): cm.memory.offset(t)
            for t in lt.tensor_buffer}
    assert {r[6]: r[1] for r in rows} == want
    # the map alone shows a legal plan: tensors live at the same node either share a buffer
    # (same offset, an alias) or do not overlap
    for a in rows:
        for b in rows:
            if a < b and a[4] <= b[5] and b[4] <= a[5] and a[1] != b[1]:
                assert a[2] <= b[1] or b[2] <= a[1], (a, b)
    assert max(r[2] for r in rows) <= cm.arena_bytes


def test_header_records_options_and_version(tmp_path: Path) -> None:
    target = kernel_target(load_board("rv32-rvv"), "fp16")
    cm = compile_model(REAL_MODELS["dscnn"], options=CompileOptions(target=target, overwrite=False))
    write_sources(cm, tmp_path)
    head = (tmp_path / "model.h").read_text().split("*/")[0]
    assert f"mcuforge {__version__}" in head
    assert "schedule: fuse, inplace, integrate;" in head  # overwrite off
    assert "dtype f16, ISAs rvv/dsp/ref" in head


def test_training_step_uses_the_arena_map(tmp_path: Path) -> None:
    prog = prepare(REAL_MODELS["dscnn"], "last:1", "cross_entropy", OptimizerSpec("sgd", 0.01))
    render_training(prog, tmp_path)
    train_c = (tmp_path / "train.c").read_text()
    n_defines = len(re.findall(r"^#define MF_A\d+ \(mf_arena \+ \d+\)", train_c, re.M))
    assert n_defines == len(_map_rows(tmp_path / "memory_map.txt")) > 0
    assert len(re.findall(r"mf_arena \+", train_c)) == n_defines
