"""A small GDB remote serial protocol (RSP) client over TCP: enough to load a program
into a halted target and start it. Talks to QEMU's gdb stub, OpenOCD, pyOCD's gdbserver,
J-Link GDB server and Black Magic Probe (over its TCP bridge).

Why not drive gdb: it needs the right gdb per architecture (gdb-multiarch is optional) and
a script, and its errors are hard to turn into one line. RSP is small.

Facts this relies on (QEMU 7.2): ``p``/``P`` are answered only after the client has read
``qXfer:features:read:target.xml``; register numbers differ between stubs (Cortex-M xPSR is
25 in QEMU, 16 in OpenOCD), so they are taken from the target description, by name.
"""

from __future__ import annotations

import re
import socket
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from toolchain.device.errors import FlashError, ProbeNotFound

_PACKET_SIZE_RE = re.compile(r"PacketSize=([0-9a-fA-F]+)")
_INCLUDE_TAG = "{http://www.w3.org/2001/XInclude}include"
# QEMU writes <xi:include> without declaring the xi namespace, which ElementTree rejects
_XI_PREFIX_RE = re.compile(r"<(/?)xi:include\b")


@dataclass(frozen=True)
class Register:
    name: str
    number: int
    bits: int


class GdbRemote:
    def __init__(self, host: str, port: int, *, timeout: float = 5.0) -> None:
        self.where = f"gdb://{host}:{port}"
        self.timeout = timeout
        try:
            self._sock = socket.create_connection((host, port), timeout=timeout)
        except OSError as exc:
            raise ProbeNotFound(f"no GDB server at {self.where}: {exc.strerror or exc}") \
                from exc
        self._sock.settimeout(timeout)
        # many tiny packets and acks: without this, Nagle + delayed ACK cost ~40 ms each
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buf = bytearray()
        self._ack = True
        self.packet_size = 4096
        self.features: dict[str, str] = {}
        self._registers: dict[str, Register] | None = None

    def close(self) -> None:
        try:
            self._sock.close()
        except OSError:
            pass

    def __enter__(self) -> GdbRemote:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- packets ----------------------------------------------------------------------------

    def command(self, payload: str | bytes) -> bytes:
        """Sends one packet and returns the reply's payload (unescaped)."""
        data = payload.encode("latin-1") if isinstance(payload, str) else payload
        packet = b"$" + data + b"#" + f"{sum(data) & 0xFF:02x}".encode()
        for _ in range(3):
            self._send(packet)
            if not self._ack or self._read_ack():
                return self._read_packet()
        raise FlashError(f"{self.where} kept refusing the packet {data[:24]!r}")

    def interrupt(self) -> None:
        self._send(b"\x03")

    def _send(self, data: bytes) -> None:
        try:
            self._sock.sendall(data)
        except OSError as exc:
            raise FlashError(f"connection to {self.where} lost: {exc}") from exc

    def _byte(self) -> int:
        if not self._buf:
            try:
                chunk = self._sock.recv(65536)
            except socket.timeout as exc:
                raise FlashError(f"{self.where} did not answer within {self.timeout:.0f} s") \
                    from exc
            except OSError as exc:
                raise FlashError(f"connection to {self.where} lost: {exc}") from exc
            if not chunk:
                raise FlashError(f"{self.where} closed the connection")
            self._buf += chunk
        b = self._buf[0]
        del self._buf[0]
        return b

    def _read_ack(self) -> bool:
        while True:
            b = self._byte()
            if b == ord("+"):
                return True
            if b == ord("-"):
                return False
            # anything else before the ack (e.g. a stray stop reply) is skipped

    def _read_packet(self) -> bytes:
        while True:
            while self._byte() != ord("$"):
                pass
            body = bytearray()
            while (b := self._byte()) != ord("#"):
                body.append(b)
            checksum = bytes([self._byte(), self._byte()])
            ok = int(checksum, 16) == sum(body) & 0xFF
            if self._ack:
                self._send(b"+" if ok else b"-")
            if ok:
                return _unescape(bytes(body))

    # ---- session ----------------------------------------------------------------------------

    def handshake(self) -> None:
        reply = self.command("qSupported:multiprocess-;swbreak+;hwbreak+;xmlRegisters=arm,"
                             "riscv").decode("latin-1")
        for item in reply.split(";"):
            key, _, value = item.partition("=")
            self.features[key.rstrip("+-")] = value or item[-1:]
        m = _PACKET_SIZE_RE.search(reply)
        if m:
            self.packet_size = int(m.group(1), 16)
        if self.features.get("QStartNoAckMode") == "+" and self.command("QStartNoAckMode") == b"OK":
            self._ack = False
        # halt reason; a running target (a stub that does not stop on connect) is stopped
        try:
            self.command("?")
        except FlashError:
            self.interrupt()
            self._read_packet()

    def read_target_xml(self, annex: str = "target.xml") -> str:
        chunks, offset = [], 0
        size = max(256, self.packet_size - 16)
        while True:
            reply = self.command(f"qXfer:features:read:{annex}:{offset:x},{size:x}")
            if not reply or reply[:1] not in (b"m", b"l"):
                raise FlashError(f"{self.where} has no target description ({annex}): "
                                 f"{reply[:40]!r}")
            chunks.append(reply[1:])
            offset += len(reply) - 1
            if reply[:1] == b"l":
                return b"".join(chunks).decode("utf-8", errors="replace")

    def registers(self) -> dict[str, Register]:
        """Registers by name, numbered as the target description says."""
        if self._registers is None:
            regs: dict[str, Register] = {}
            self._collect(self.read_target_xml(), regs, [0])
            self._registers = regs
        return self._registers

    def architecture(self) -> str:
        root = _parse_xml(self.read_target_xml())
        arch = root.find("architecture")
        return (arch.text or "").strip() if arch is not None else ""

    def _collect(self, xml: str, regs: dict[str, Register], next_num: list[int]) -> None:
        root = _parse_xml(xml)
        for el in root.iter():
            if el.tag in (_INCLUDE_TAG, "include"):
                self._collect(self.read_target_xml(el.attrib["href"]), regs, next_num)
            elif el.tag == "reg":
                num = int(el.attrib.get("regnum", next_num[0]))
                regs.setdefault(el.attrib["name"].lower(),
                                Register(el.attrib["name"], num, int(el.attrib["bitsize"])))
                next_num[0] = num + 1

    def write_register(self, name: str, value: int) -> None:
        reg = self._register(name)
        data = value.to_bytes(reg.bits // 8, "little").hex()
        reply = self.command(f"P{reg.number:x}={data}")
        if reply != b"OK":
            raise FlashError(f"{self.where} refused to set register {name}: {reply[:40]!r}")

    def read_register(self, name: str) -> int:
        reg = self._register(name)
        reply = self.command(f"p{reg.number:x}")
        if not reply or reply[:1] == b"E":
            raise FlashError(f"{self.where} refused to read register {name}: {reply[:40]!r}")
        return int.from_bytes(bytes.fromhex(reply.decode()), "little")

    def _register(self, name: str) -> Register:
        regs = self.registers()
        if name.lower() not in regs:
            raise FlashError(f"{self.where} has no register '{name}' "
                             f"(it has {', '.join(sorted(regs)[:12])}...)")
        return regs[name.lower()]

    # ---- memory -----------------------------------------------------------------------------

    def write_memory(self, address: int, data: bytes) -> None:
        # hex 'M' packets: twice the bytes of binary 'X', but every stub has them and nothing
        # needs escaping; the payload must fit PacketSize with its header
        step = max(16, (self.packet_size - 32) // 2)
        for off in range(0, len(data), step):
            part = data[off:off + step]
            reply = self.command(f"M{address + off:x},{len(part):x}:{part.hex()}")
            if reply != b"OK":
                raise FlashError(f"{self.where} refused a write of {len(part)} bytes at "
                                 f"{address + off:#010x}: {reply[:40]!r}")

    def read_memory(self, address: int, length: int) -> bytes:
        step = max(16, (self.packet_size - 32) // 2)
        out = bytearray()
        for off in range(0, length, step):
            n = min(step, length - off)
            reply = self.command(f"m{address + off:x},{n:x}")
            if not reply or reply[:1] == b"E" or len(reply) != 2 * n:
                raise FlashError(f"{self.where} refused a read of {n} bytes at "
                                 f"{address + off:#010x}: {reply[:40]!r}")
            out += bytes.fromhex(reply.decode())
        return bytes(out)

    def detach(self) -> None:
        """Lets the target run and frees the stub for the next client."""
        try:
            self.command("D")
        except FlashError:
            pass  # some stubs close the connection instead of answering OK


def _parse_xml(text: str) -> ET.Element:
    try:
        return ET.fromstring(_XI_PREFIX_RE.sub(r"<\1include", text))
    except ET.ParseError as exc:
        raise FlashError(f"unreadable GDB target description: {exc}") from exc


def _unescape(data: bytes) -> bytes:
    if b"}" not in data and b"*" not in data:
        return data
    out = bytearray()
    i = 0
    while i < len(data):
        b = data[i]
        if b == 0x7D:  # '}' escapes the next byte XOR 0x20
            out.append(data[i + 1] ^ 0x20)
            i += 2
            continue
        if b == 0x2A and out:  # '*' run-length: repeat the previous byte
            count = data[i + 1] - 29
            out += bytes([out[-1]]) * count
            i += 2
            continue
        out.append(b)
        i += 1
    return bytes(out)
