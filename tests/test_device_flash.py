"""Flash back-ends without hardware: the GDB RSP loader against a fake stub (verify
mismatch, register numbering from the target description), and the clear one-line errors
of the pyOCD and OpenOCD back-ends when they are missing or fail."""

from __future__ import annotations

import socket
import sys
import threading
import types
from pathlib import Path

import pytest

from toolchain.boards import load_board
from toolchain.device.errors import FlashError, ProbeNotFound, VerifyMismatch, WrongTarget
from toolchain.device.flashing import flash, openocd_error
from toolchain.device.gdbremote import _unescape
from toolchain.device.simdevice import free_port

# an RV32 ELF with one loadable segment is all the loader needs; build one with the board
# toolchain if present, else skip those tests
RISCV_XML = ('<?xml version="1.0"?><target><architecture>riscv:rv32</architecture>'
             '<xi:include href="cpu.xml"/></target>')
CPU_XML = ('<feature name="org.gnu.gdb.riscv.cpu">' +
           "".join(f'<reg name="x{i}" bitsize="32"/>' for i in range(32)) +
           '<reg name="pc" bitsize="32" regnum="32"/></feature>')


class FakeStub:
    """A GDB stub that stores writes, optionally flipping one bit (a flash that does not
    take the data), and records the registers set."""

    def __init__(self, flip_bit: bool) -> None:
        self.flip_bit = flip_bit
        self.mem: dict[int, int] = {}
        self.regs: dict[int, int] = {}
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        conn, _ = self.server.accept()
        buf = b""
        while True:
            data = conn.recv(65536)
            if not data:
                return
            buf += data
            while b"#" in buf and len(buf) >= buf.index(b"#") + 3:
                start = buf.index(b"$")
                end = buf.index(b"#")
                packet = buf[start + 1:end].decode("latin-1")
                buf = buf[end + 3:]
                reply = self._reply(packet)
                body = reply.encode("latin-1")
                conn.sendall(b"+$" + body + b"#" + f"{sum(body) & 0xFF:02x}".encode())

    def _reply(self, p: str) -> str:
        if p.startswith("qSupported"):
            return "PacketSize=400;qXfer:features:read+"
        if p == "?":
            return "T05"
        if p.startswith("qXfer:features:read:"):
            annex, _, span = p[len("qXfer:features:read:"):].rpartition(":")
            text = RISCV_XML if annex == "target.xml" else CPU_XML
            off, length = (int(v, 16) for v in span.split(","))
            part = text[off:off + length]
            return ("l" if off + length >= len(text) else "m") + part
        if p.startswith("M"):
            head, _, hexdata = p[1:].partition(":")
            addr = int(head.split(",")[0], 16)
            for i, b in enumerate(bytes.fromhex(hexdata)):
                self.mem[addr + i] = b ^ (1 if self.flip_bit and addr + i == 0x80000010 else 0)
            return "OK"
        if p.startswith("m"):
            addr, n = (int(v, 16) for v in p[1:].split(","))
            return bytes(self.mem.get(addr + i, 0) for i in range(n)).hex()
        if p.startswith("P"):
            num, _, val = p[1:].partition("=")
            self.regs[int(num, 16)] = int.from_bytes(bytes.fromhex(val), "little")
            return "OK"
        if p.startswith("p"):
            return self.regs.get(int(p[1:], 16), 0).to_bytes(4, "little").hex()
        if p == "D":
            return "OK"
        return ""


@pytest.fixture(scope="module")
def rv_elf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import shutil
    import subprocess

    if shutil.which("clang-19") is None:
        pytest.skip("clang-19 not installed")
    out = tmp_path_factory.mktemp("elf")
    src = out / "start.S"
    src.write_text(".section .text\n.globl _start\n_start:\n" + "nop\n" * 16 + "j _start\n")
    elf = out / "tiny.elf"
    subprocess.run(["clang-19", "--target=riscv32-unknown-elf", "-march=rv32i", "-nostdlib",
                    "-fuse-ld=lld", "-Wl,-Ttext=0x80000000", str(src), "-o", str(elf)],
                   check=True, capture_output=True, timeout=60)
    return elf


def test_gdb_load_sets_pc_by_the_described_number(rv_elf: Path) -> None:
    stub = FakeStub(flip_bit=False)
    rep = flash(rv_elf, load_board("rv32-rvv"), f"gdb://127.0.0.1:{stub.port}")
    assert rep.verified and rep.entry == 0x80000000
    assert stub.regs[32] == 0x80000000     # "pc" is regnum 32 in the description


def test_gdb_verify_mismatch_is_one_line(rv_elf: Path) -> None:
    stub = FakeStub(flip_bit=True)
    with pytest.raises(VerifyMismatch, match="0x80000010") as err:
        flash(rv_elf, load_board("rv32-rvv"), f"gdb://127.0.0.1:{stub.port}")
    assert "\n" not in str(err.value)


def test_gdb_wrong_architecture(rv_elf: Path, tmp_path: Path) -> None:
    stub = FakeStub(flip_bit=False)
    arm_like = tmp_path / "arm.elf"
    data = bytearray(rv_elf.read_bytes())
    data[18:20] = (40).to_bytes(2, "little")    # e_machine = EM_ARM
    arm_like.write_bytes(bytes(data))
    with pytest.raises(WrongTarget, match="riscv"):
        flash(arm_like, load_board("stm32f746-disco"), f"gdb://127.0.0.1:{stub.port}")


def test_no_gdb_server(rv_elf: Path) -> None:
    with pytest.raises(ProbeNotFound, match="no GDB server"):
        flash(rv_elf, load_board("rv32-rvv"), f"gdb://127.0.0.1:{free_port()}")


def test_not_an_elf() -> None:
    with pytest.raises(FlashError, match="not an ELF"):
        flash(__file__, load_board("rv32-rvv"), "gdb://127.0.0.1:1")


def test_bad_probe_names(rv_elf: Path) -> None:
    with pytest.raises(FlashError, match="unknown probe"):
        flash(rv_elf, load_board("rv32-rvv"), "jtag")
    with pytest.raises(FlashError, match="gdb://HOST:PORT"):
        flash(rv_elf, load_board("rv32-rvv"), "gdb://nohost")


def test_pyocd_missing_is_one_line(rv_elf: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyocd", None)   # import pyocd -> ImportError
    with pytest.raises(FlashError, match="pyOCD is not installed") as err:
        flash(rv_elf, load_board("stm32f746-disco"), "pyocd")
    assert "\n" not in str(err.value)


def test_pyocd_no_probe(rv_elf: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    helpers = types.ModuleType("pyocd.core.helpers")
    helpers.ConnectHelper = types.SimpleNamespace(  # type: ignore[attr-defined]
        session_with_chosen_probe=lambda **kw: None)
    programmer = types.ModuleType("pyocd.flash.file_programmer")
    programmer.FileProgrammer = object  # type: ignore[attr-defined]
    for name, mod in {"pyocd": types.ModuleType("pyocd"),
                      "pyocd.core": types.ModuleType("pyocd.core"),
                      "pyocd.core.helpers": helpers,
                      "pyocd.flash": types.ModuleType("pyocd.flash"),
                      "pyocd.flash.file_programmer": programmer}.items():
        monkeypatch.setitem(sys.modules, name, mod)
    with pytest.raises(ProbeNotFound, match="no debug probe"):
        flash(rv_elf, load_board("stm32f746-disco"), "pyocd")


def test_openocd_missing(rv_elf: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("shutil.which", lambda name: None)
    with pytest.raises(FlashError, match="openocd is not installed"):
        flash(rv_elf, load_board("stm32f746-disco"), "openocd")


@pytest.mark.parametrize("output, cls", [
    ("Info : clock speed 2000 kHz\nError: open failed\n", ProbeNotFound),
    ("Error: JTAG scan chain interrogation failed\nError: UNEXPECTED idcode: 0x2ba01477",
     WrongTarget),
    ("** Programming Finished **\n** Verify Started **\nError: checksum mismatch - attempting"
     " binary compare\n** Verify Failed **", VerifyMismatch),
    ("Error: something else\n", FlashError),
])
def test_openocd_errors_are_classified(output: str, cls: type) -> None:
    err = openocd_error(output, "board/stm32f7discovery.cfg")
    assert type(err) is cls and "\n" not in str(err)


def test_rsp_unescape() -> None:
    assert _unescape(b"a}\x03b") == b"a#b"
    assert _unescape(b"0* ") == b"0000"          # run-length: ' ' = 29 + 3 repeats
