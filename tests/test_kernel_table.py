"""The declarative kernel table (toolchain/ops/kernel_table.py) against the C it describes.

toolchain/ never reads C to learn its kernels; this test does, so the table cannot drift:
every kernel the runtime defines is registered with its file, every registered kernel
exists, the files the table says a kernel needs cover every function it calls, and the
per-ISA constants of the scratch formulas equal the C #defines. The headers' kernel prototypes
are the table's (toolchain/ops/protos.py): none written by hand, none stale, and every runtime
file compiles against them with -Wmissing-prototypes on the host and on each board's compiler."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

import toolchain.train.loss_optim  # noqa: F401  (registers the loss and optimizer kernels)
from toolchain.codegen import RUNTIME
from toolchain.ops.conv import BWD_COLS, CONV_COLS, OVERWRITE_COLS
from toolchain.boards.board import load_board
from toolchain.build.compiler import compiler_setup
from toolchain.ops import protos
from toolchain.ops.kernel_table import ALWAYS, KERNELS, sources_for

TOOLCHAIN = Path(__file__).resolve().parents[1] / "toolchain"
SRC = RUNTIME / "src"

# A C scanner, for this test only: what each runtime file defines and calls, with the shared
# .inc bodies spliced in and their MF_REF(op)-style name macros expanded.
_DEF = re.compile(r"^(?!static\b)[A-Za-z_][\w \t*]*?\b(mf_\w+)\s*\(", re.M)
_KERNEL = re.compile(r"^int\s+(mf_\w+_(?:ref|dsp|rvv|mve))\s*\(", re.M)
_CALL = re.compile(r"\b(mf_\w+)\b")
_INC = re.compile(r'^#include\s+"(\w+\.inc)"', re.M)
_NAME_MACRO = re.compile(r"^#define\s+(MF_\w+)\((\w+)\)\s+\2\s*##\s*(\w+)\s*$", re.M)


def _text(f: Path) -> str:
    text = f.read_text()
    names = {m.group(1): m.group(3) for m in _NAME_MACRO.finditer(text)}

    def body(m: re.Match[str]) -> str:
        inc = (f.parent / m.group(1)).read_text()
        for macro, suffix in names.items():
            inc = re.sub(rf"\b{macro}\((\w+)\)", rf"\g<1>{suffix}", inc)
        return inc
    return _INC.sub(body, text)


TEXTS = {f.name: _text(f) for f in sorted(SRC.glob("*.c"))}


def test_every_runtime_kernel_is_in_the_table_with_its_file() -> None:
    defined = {m.group(1): name for name, t in TEXTS.items() for m in _KERNEL.finditer(t)}
    table = {k: e.source for k, e in KERNELS.items() if e.isa}
    assert defined == table


def test_table_files_exist_and_helpers_are_defined_there() -> None:
    for k, e in KERNELS.items():
        assert e.source in TEXTS, k
        assert re.search(rf"\b{k}\s*\(", TEXTS[e.source]), k


def test_needed_files_cover_every_call() -> None:
    defs: dict[str, str] = {}
    for name, t in TEXTS.items():
        for m in _DEF.finditer(t):
            defs.setdefault(m.group(1), name)
    for k in KERNELS:
        files = set(sources_for({k}))
        assert set(ALWAYS) <= files
        for f in files:
            calls = {defs[m.group(1)] for m in _CALL.finditer(TEXTS[f]) if m.group(1) in defs}
            assert calls <= files, f"{k}: {f} calls into {sorted(calls - files)}, not in the table's needs"


def test_scratch_constants_agree_with_the_headers(tmp_path: Path) -> None:
    names = ([f"MF_CONV_COLS_{isa.upper()}" for isa in CONV_COLS] + ["MF_CONV_OVERWRITE_COLS"]
             + [f"MF_CONV_OVERWRITE_COLS_{isa.upper()}" for isa in OVERWRITE_COLS if isa == "rvv"]
             + [f"MF_BWD_COLS_{isa.upper()}" for isa in BWD_COLS])
    main = tmp_path / "consts.c"
    main.write_text('#include <stdio.h>\n#include "mf_conv.h"\nint main(void) {\n'
                    + "".join(f'printf("%d\\n", (int)({n}));\n' for n in names) + "return 0; }\n")
    exe = tmp_path / "consts"
    subprocess.run(["gcc", "-std=c11", "-Wall", "-Wextra", "-Werror", f"-I{RUNTIME / 'include'}", str(main), "-o",
                    str(exe)], check=True)
    got = [int(v) for v in subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.split()]
    want = ([CONV_COLS[i] for i in CONV_COLS] + [OVERWRITE_COLS["ref"], OVERWRITE_COLS["rvv"]]
            + [BWD_COLS[i] for i in BWD_COLS])
    assert got == want
    # the ISAs without their own overwrite width use the common one
    assert {OVERWRITE_COLS[i] for i in OVERWRITE_COLS if i != "rvv"} == {OVERWRITE_COLS["ref"]}


def test_every_isa_constant_has_its_python_twin() -> None:
    # a new ISA's #define in a header needs its entry in the Python tables above
    headers = "".join((RUNTIME / "include" / h).read_text() for h in ("mf_conv.h",))
    found = {(m.group(1), m.group(2).lower()) for m in re.finditer(r"#define (MF_\w+_COLS)_(\w+) \d+", headers)}
    tables = {"MF_CONV_COLS": CONV_COLS, "MF_CONV_OVERWRITE_COLS": OVERWRITE_COLS, "MF_BWD_COLS": BWD_COLS}
    assert {(k, isa) for k, isa in found} <= {(k, isa) for k, t in tables.items() for isa in t}


def test_no_regular_expression_reads_c_in_toolchain() -> None:
    bad = []
    for f in TOOLCHAIN.rglob("*.py"):
        text = f.read_text()
        if re.search(r"^\s*(import re\b|from re import)", text, re.M) and re.search(
                r"runtime_c|RUNTIME|\.inc\b|#define|\.read_text\(\).*\.h\b", text):
            bad.append(str(f.relative_to(TOOLCHAIN.parent)))
    assert bad == []


def test_every_kernel_has_a_signature() -> None:
    # the lead registers a kernel from another branch with sig=<its family's Sig>, then `make protos`
    assert protos.unsigned() == []


def test_checked_in_prototypes_equal_the_table() -> None:
    assert protos.stale() == [], "run `make protos`"


def test_no_hand_written_kernel_prototype() -> None:
    by_hand = []
    for h in sorted((RUNTIME / "include").glob("*.h")):
        text = h.read_text()
        start, end = text.find(protos.PROTOS_BEGIN), text.find(protos.PROTOS_END)
        outside = text[:start] + text[end:] if start >= 0 else text
        by_hand += [f"{h.name}: {m.group(1)}" for m in re.finditer(r"^\s*(?:int|void|int32_t)\s+(mf_\w+)\s*\(", outside, re.M) if m.group(1) in KERNELS]
    assert by_hand == []


def test_generated_block_round_trips(tmp_path: Path) -> None:
    # a header without a block gets one before its include guard's #endif; a second render is a no-op
    text = "#ifndef MF_GEMM_H\n#define MF_GEMM_H\ntypedef int mf_gemm_desc;\n#endif\n"
    once = protos.render("mf_gemm.h", text)
    assert once.index(protos.PROTOS_BEGIN) > once.index("typedef") and once.rstrip().endswith("#endif")
    assert "int mf_gemm_f32_ref(const float *a, const float *b, const float *c, float *y," in once
    assert protos.render("mf_gemm.h", once) == once
    assert all(len(line) <= protos.WIDTH for line in once.splitlines())


@pytest.mark.parametrize("board", ["host", "stm32f746-disco", "cortex-m55-an547", "rv32-rvv"])
def test_runtime_compiles_against_the_generated_prototypes(board: str) -> None:
    # -Wmissing-prototypes: every function a runtime file defines for other files is declared,
    # and a definition that differs from its generated prototype is a conflicting-types error
    cc = compiler_setup(load_board(board))
    failed = []
    for f in sorted(SRC.glob("*.c")):
        r = subprocess.run([cc.cc, *cc.cflags, "-Wmissing-prototypes", "-fsyntax-only", f"-I{RUNTIME / 'include'}",
                            "-include", "mf_kernels.h", str(f)], capture_output=True, text=True)
        if r.returncode:
            failed.append(f"{f.name}: {r.stderr.strip().splitlines()[0]}")
    assert failed == []
