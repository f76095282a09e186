"""Names, paths and doc strings from a model are untrusted: they reach C only as escaped
comment text, escaped string bodies or sanitised identifiers (toolchain/codegen/ctext.py).

The CR payload of issue 11 closed the comment of a node name (GCC takes a lone CR as a new
line, so backslash-CR spliced `*` and `/`) and then called system(). Here the same payload is
put in every name the generated C shows, and in the model's file name: the host build must
still pass -Wall -Wextra -Werror, match onnxruntime, and the payload's side effect must not
happen. A control test shows the payload is live against the old blacklist escape.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from toolchain.codegen.ctext import c_comment, c_identifier, c_string


def _payload(marker: Path) -> str:
    # closes the comment through backslash + CR, runs a constructor, reopens a comment
    return (f"x*\\\r/ __attribute__((constructor)) static void mf_pwn(void) "
            f"{{ extern int system(const char *); system(\"touch {marker}\"); }} /*")


def _model(names: dict[str, str]) -> onnx.ModelProto:
    x, y = names.get("input", "x"), names.get("output", "y")
    node = names.get("node", "n0")
    c = helper.make_tensor(names.get("const", "c"), TensorProto.FLOAT, [1, 4], [0.5, -1.0, 2.0, 0.25])
    mid = names.get("mid", "t")
    nodes = [helper.make_node("Add", [x, c.name], [mid], name=node),
             helper.make_node("Relu", [mid], [y], name=names.get("node2", "n1"), doc_string=names.get("doc", ""))]
    g = helper.make_graph(nodes, names.get("graph", "g"),
                          [helper.make_tensor_value_info(x, TensorProto.FLOAT, ["N", 4])],
                          [helper.make_tensor_value_info(y, TensorProto.FLOAT, ["N", 4])], [c],
                          doc_string=names.get("doc", ""))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], doc_string=names.get("doc", ""))
    return m


def _cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "toolchain.cli", *args], capture_output=True, text=True,
                          timeout=300, cwd=cwd)


def test_payload_is_live_against_a_blacklist(tmp_path) -> None:
    """Control: the old escape (strip `*/` and LF) lets the payload run, so the test below
    tests something."""
    marker = tmp_path / "PWNED"
    old = _payload(marker).replace("*/", "* /").replace("\n", " ")
    src = tmp_path / "m.c"
    src.write_text(f"/* {old} */\nint main(void) {{ return 0; }}\n")
    exe = tmp_path / "m"
    subprocess.run(["gcc", "-std=c11", "-w", str(src), "-o", str(exe)], check=True, capture_output=True)
    subprocess.run([str(exe)], check=True)
    assert marker.exists()


@pytest.mark.parametrize("where", ["node", "node2", "input", "output", "const", "mid", "graph", "doc", "file"])
def test_cr_payload_is_inert(tmp_path, where) -> None:
    marker = tmp_path / "PWNED"
    names = {} if where == "file" else {where: _payload(marker)}
    m = _model(names)
    onnx.checker.check_model(m)
    # a file path holding the payload (its slashes make folders; the path text is the same)
    d = tmp_path / (_payload(marker) if where == "file" else "m")
    d.mkdir(parents=True)
    p = d / "model.onnx"
    onnx.save(m, p)
    r = _cli("verify", str(p), "--json")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["match"] and res["max_abs_error"] <= 1e-6
    assert not marker.exists(), "the payload ran"
    # and the text that reached C: no comment closes early, no CR, no code from the payload
    out = tmp_path / "out"
    r = _cli("compile", str(p), "-o", str(out))
    assert r.returncode == 0, r.stderr
    for f in ("model.c", "model.h", "model_weights.c", "model_weights.h"):
        text = (out / f).read_text()
        assert "\r" not in text and "\\\n" not in text
        assert "mf_pwn" not in _code_only(text) and "system" not in _code_only(text)


def _code_only(c_text: str) -> str:
    """C text with /* */ comments removed, as the compiler sees it (no splices: the text holds
    no backslash-newline)."""
    out, i = [], 0
    while i < len(c_text):
        j = c_text.find("/*", i)
        if j < 0:
            out.append(c_text[i:])
            break
        out.append(c_text[i:j])
        k = c_text.find("*/", j + 2)
        assert k >= 0, "unterminated comment"
        i = k + 2
    return "".join(out)


def test_comment_whitelist() -> None:
    hostile = "a*/b/*c??/d\\\ne\rf\u202eg\x00h\x1b[31mi" + "é☃"
    s = c_comment(hostile)
    assert all(0x20 <= ord(ch) < 0x7F for ch in s)
    for bad in ("*/", "/*", "??", "\\"):
        assert bad not in s
    assert c_comment("x*") == "x<U+002A>" and c_comment("/y") == "<U+002F>y"
    assert c_comment("examples/vit.onnx") == "examples/vit.onnx"


def test_string_escape_round_trips_through_gcc(tmp_path) -> None:
    hostile = "q\"uote\\ ??/ \r\n\x00 é \u202e end"
    src = tmp_path / "s.c"
    body = c_string(hostile)
    src.write_text('#include <stdio.h>\nstatic const char s[] = "' + body + '";\n'
                   "int main(void) { fwrite(s, 1, sizeof s - 1, stdout); return 0; }\n")
    exe = tmp_path / "s"
    subprocess.run(["gcc", "-std=c11", "-Wall", "-Wextra", "-Werror", str(src), "-o", str(exe)], check=True)
    assert subprocess.run([str(exe)], capture_output=True).stdout == hostile.encode()


def test_identifier() -> None:
    assert c_identifier("a b/*c", "mf_") == "mf_a_b_c"
    assert c_identifier("\u202e\r") == "mf_x"
    assert np.all([ch.isalnum() or ch == "_" for ch in c_identifier("x\x00y-?z")])


def _early_return_payload() -> str:
    # what issue 11 saw in firmware: the payload makes mf_model_run return before computing
    return "x*\\\r/ ; return 0x5EC; /*"


@pytest.mark.qemu
def test_payload_is_inert_in_firmware(tmp_path) -> None:
    """The same hole reached firmware (`run` reported MISMATCH): node, tensor and file names
    carrying payloads build for the board with -Werror and the run matches onnxruntime."""
    marker = tmp_path / "PWNED"
    m = _model({"node": _early_return_payload(), "mid": _payload(marker), "output": _early_return_payload() + "y"})
    d = tmp_path / _early_return_payload()
    d.mkdir(parents=True)
    p = d / "model.onnx"
    onnx.save(m, p)
    r = _cli("run", str(p), "--board", "stm32f746-disco", "--json", "-o", str(tmp_path / "fw"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert json.loads(r.stdout)["match"]
    for f in (tmp_path / "fw" / "model").glob("*.[ch]"):
        assert "0x5EC" not in _code_only(f.read_text())


def test_device_firmware_main_escapes_the_model_file_name(tmp_path) -> None:
    """main_device.c names the model file in a comment and the build id in strings."""
    from toolchain.boards import load_board
    from toolchain.device.firmware import build_device_firmware

    d = tmp_path / _early_return_payload()
    d.mkdir(parents=True)
    p = d / "x*\\\r\u202e int mf_pwn_main; ??=\\\n.onnx"  # a file name cannot hold a slash
    onnx.save(_model({}), p)
    built = build_device_firmware(p, load_board("stm32f746-disco"), tmp_path / "dev", target="qemu")
    main = (tmp_path / "dev" / "main.c").read_text()
    assert all(0x20 <= ord(ch) < 0x7F or ch == "\n" for ch in main)
    assert "mf_pwn_main" not in _code_only(main) and built.elf.is_file()


def test_payload_is_inert_in_the_training_step(tmp_path) -> None:
    """train.c names each trainable weight in a string literal and each node in a comment:
    weights and nodes named with payloads (a quote too) build, run and match PyTorch."""
    pytest.importorskip("torch")
    from onnx import numpy_helper

    marker = tmp_path / "PWNED"
    pay = _payload(marker) + '"q'
    rng = np.random.default_rng(0)
    w = numpy_helper.from_array((rng.standard_normal((8, 4)) * 0.3).astype(np.float32), pay)
    b = numpy_helper.from_array(np.zeros(4, np.float32), pay + "b")
    g = helper.make_graph([helper.make_node("Gemm", ["x", w.name], ["h"], name=pay + "n"),
                           helper.make_node("Add", ["h", b.name], ["y"], name=pay + "a")], pay,
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])], [w, b])
    p = tmp_path / "m.onnx"
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), p)
    r = _cli("train", str(p), "--steps", "3", "--trainable", "last:1", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["match"] is True
    assert not marker.exists()
