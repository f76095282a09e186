"""The fuzz tier of issue 11 (marker `fuzz`, in CI, about a minute on one core).

Hypothesis (derandomized, so CI is repeatable) generates:
- crafted names over the whole of Unicode, mixed with the fragments that broke C before
  (CR, NUL, `*/`, `/*`, `??/`, backslash-newline, bidi controls, quotes, code), for every
  node, tensor, graph and doc string of a small CNN, and for the model's file path;
- mutated real models: DS-CNN with bytes overwritten and attributes/dims perturbed.

Every case must either compile to C that builds with -Wall -Wextra -Werror, runs, and matches
onnxruntime, or end as a user error: one `error:` line, exit 2 (checked through the CLI's
own failure report). The generated C must be printable ASCII, and no payload code may appear
outside comments and strings.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

from conftest import REAL_MODELS
from toolchain.api import compile_model, write_sources
from toolchain.errors import McuforgeError
from toolchain.failure import report
from toolchain.frontend import read_model
from toolchain.build.host import build_host, run_host
from toolchain.verify import compare, onnxruntime_outputs, seeded_inputs

pytestmark = pytest.mark.fuzz
ROOT = Path(__file__).resolve().parents[1]

PAYLOAD = "int mf_injected = 1;"
HOSTILE = ["\r", "\n", "\x00", "*/", "/*", "??/", "??=", "\\\n", "\\\r", "\\", "\u202e", "\u2066", "\u200f",
           "\"", "'", "%s", "\x1b[31m", "\ufeff", "\U0010ffff", "é", "☃", "x*\\\r/ " + PAYLOAD + " /*",
           "*/ " + PAYLOAD + " /*", "\" " + PAYLOAD + " \"", "#define X", "//"]
_char = st.characters(blacklist_categories=("Cs",))  # any code point UTF-8 can carry
_piece = st.one_of(st.sampled_from(HOSTILE), st.text(_char, min_size=1, max_size=6))
NAME = st.lists(_piece, min_size=1, max_size=5).map("".join)

SETTINGS = dict(deadline=None, derandomize=True, database=None, print_blob=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                       HealthCheck.data_too_large])


def _small_cnn(names: list[str], doc: str) -> onnx.ModelProto:
    """x -> Conv(+b) -> Relu -> Add(x) -> Softmax(axis -1) -> y, every name crafted."""
    x, w, b, c, r, a, y = names[:7]
    nx, nc, nr, na, ns = names[7:12]
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array((rng.standard_normal((2, 2, 3, 3)) * 0.3).astype(np.float32), w),
             numpy_helper.from_array(np.array([0.1, -0.2], np.float32), b)]
    nodes = [helper.make_node("Conv", [x, w, b], [c], name=nc, pads=[1, 1, 1, 1], doc_string=doc),
             helper.make_node("Relu", [c], [r], name=nr, doc_string=doc),
             helper.make_node("Add", [r, x], [a], name=na),
             helper.make_node("Softmax", [a], [y], name=ns, axis=-1)]
    g = helper.make_graph(nodes, nx, [helper.make_tensor_value_info(x, TensorProto.FLOAT, ["batch", 2, 5, 5])],
                          [helper.make_tensor_value_info(y, TensorProto.FLOAT, ["batch", 2, 5, 5])], inits,
                          doc_string=doc)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], doc_string=doc,
                             producer_name=doc[:40])


def _code_only(text: str) -> str:
    """C text without comments and string/char literals (the text has no line splices)."""
    return re.sub(r'/\*.*?\*/|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'', " ", text, flags=re.S)


def _check_generated(out: Path) -> None:
    for f in list(out.glob("*.c")) + list(out.glob("*.h")):
        data = f.read_bytes()
        bad = sorted({b for b in data if not (0x20 <= b < 0x7F or b == 0x0A)})
        assert not bad, f"{f.name}: bytes {bad[:8]} outside printable ASCII"
        text = data.decode()
        assert "\\\n" not in text and "??" not in text, f.name
        assert "mf_injected" not in _code_only(text), f"{f.name}: payload outside comments"


def _user_error(e: BaseException) -> None:
    lines: list[str] = []
    status = report(e, lines.append)
    assert status == 2 and len(lines) == 1 and lines[0].startswith("error: "), (status, lines, repr(e))
    assert "\n" not in lines[0] and "\r" not in lines[0] and "\x1b" not in lines[0]


def _compile_build_compare(path: Path, out: Path) -> str:
    """'match' when the model runs and agrees with onnxruntime, 'error' for a user error."""
    try:
        cm = compile_model(path)
        src = write_sources(cm, out)
        _check_generated(out)
        exe = build_host(src, len(cm.graph.inputs))  # -Wall -Wextra -Werror -std=c11
        inputs = seeded_inputs(cm, 0)
        ours = run_host(exe, inputs, [cm.graph.tensors[o].size for o in cm.graph.outputs])
        ref = onnxruntime_outputs(read_model(path), cm.graph.inputs, inputs)
    except (McuforgeError, OSError, MemoryError) as e:
        _user_error(e)
        return f"error: {type(e).__name__}"
    errs = compare(cm.graph.outputs, ours, ref)
    assert all(o.match for o in errs), errs
    return "match"


@settings(max_examples=12, **SETTINGS)
@given(names=st.lists(NAME, min_size=12, max_size=12, unique=True), doc=NAME)
def test_crafted_names_build_and_match(tmp_path_factory, names, doc) -> None:
    # tensor names must be non-empty and distinct from each other (ONNX's rule, not ours)
    tmp = tmp_path_factory.mktemp("names")
    m = _small_cnn(names, doc)
    p = tmp / "m.onnx"
    p.write_bytes(m.SerializeToString())
    assert _compile_build_compare(p, tmp / "out") == "match"


_DSCNN = REAL_MODELS["dscnn"].read_bytes()


@settings(max_examples=14, **SETTINGS)
@given(edits=st.lists(st.tuples(st.integers(0, len(_DSCNN) - 1), st.integers(0, 255)), min_size=1, max_size=6))
def test_bit_flipped_real_model(tmp_path_factory, edits) -> None:
    data = bytearray(_DSCNN)
    for pos, val in edits:
        data[pos] = val
    tmp = tmp_path_factory.mktemp("flip")
    p = tmp / "m.onnx"
    p.write_bytes(bytes(data))
    event(_compile_build_compare(p, tmp / "out"))


@settings(max_examples=10, **SETTINGS)
@given(data=st.data())
def test_perturbed_attributes_and_dims(tmp_path_factory, data) -> None:
    """Real DS-CNN with one integer attribute or input dim set to a hostile value."""
    m = onnx.load_model_from_string(_DSCNN)
    ints = [(n, a) for n in m.graph.node for a in n.attribute if a.type in (onnx.AttributeProto.INT,
                                                                           onnx.AttributeProto.INTS)]
    value = data.draw(st.sampled_from([0, -1, -5, 1, 2, 3, 7, 1000, 2**31, -(2**40)]))
    if data.draw(st.booleans()):
        n, a = data.draw(st.sampled_from(ints))
        if a.type == onnx.AttributeProto.INT:
            a.i = value
        else:
            k = data.draw(st.integers(0, max(len(a.ints) - 1, 0)))
            if a.ints:
                a.ints[k] = value
            if data.draw(st.booleans()):
                a.ints.append(value)  # a wrong length
    else:
        dims = m.graph.input[0].type.tensor_type.shape.dim
        k = data.draw(st.integers(0, len(dims) - 1))
        dims[k].Clear()
        dims[k].dim_value = value
    tmp = tmp_path_factory.mktemp("attr")
    p = tmp / "m.onnx"
    p.write_bytes(m.SerializeToString())
    event(_compile_build_compare(p, tmp / "out"))


@settings(max_examples=4, **SETTINGS)
@given(name=NAME.filter(lambda s: "\x00" not in s and "/" not in s and s not in (".", "..") and
                        len(s.encode("utf-8", "surrogatepass")) < 200))
def test_crafted_file_names_through_the_cli(tmp_path_factory, name) -> None:
    """The model's file (and folder) name is hostile: `mcuforge verify` builds and matches."""
    tmp = tmp_path_factory.mktemp("file")
    d = tmp / name
    d.mkdir()
    p = d / (name + ".onnx")
    names = [f"t{i}" for i in range(12)]
    p.write_bytes(_small_cnn(names, "").SerializeToString())
    r = subprocess.run([sys.executable, "-m", "toolchain.cli", "verify", str(p)], capture_output=True,
                       text=True, timeout=300, cwd=ROOT, errors="replace")
    assert "Traceback" not in r.stderr
    assert r.returncode == 0 and "MATCH" in r.stdout, r.stdout + r.stderr


@settings(max_examples=3, **SETTINGS)
@given(names=st.lists(NAME, min_size=100, max_size=100, unique=True))
def test_real_model_with_crafted_names(tmp_path_factory, names) -> None:
    """DS-CNN with every node, tensor and graph name replaced by a crafted one."""
    m = onnx.load_model_from_string(_DSCNN)
    g = m.graph
    tensors = sorted({t for n in g.node for t in [*n.input, *n.output] if t} |
                     {i.name for i in g.initializer} | {i.name for i in g.input} | {o.name for o in g.output})
    assert len(tensors) + len(g.node) + 1 <= len(names)
    new = dict(zip(tensors, names))
    for n, name in zip(g.node, names[len(tensors):]):
        n.name = name
        n.input[:] = [new.get(t, t) for t in n.input]
        n.output[:] = [new.get(t, t) for t in n.output]
    for seq in (g.initializer, g.input, g.output, g.value_info):
        for x in seq:
            x.name = new.get(x.name, x.name)
    g.name = names[-1]
    tmp = tmp_path_factory.mktemp("renamed")
    p = tmp / "m.onnx"
    p.write_bytes(m.SerializeToString())
    assert _compile_build_compare(p, tmp / "out") == "match"
