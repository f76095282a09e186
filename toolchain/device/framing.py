"""Frames on the wire: COBS with 0x00 delimiters and a CRC-32 per frame.

Mirrors runtime_c/board/mf_protocol.c. A frame is ``0x00 COBS(payload || crc32le) 0x00``;
anything between frames that is not 0x00 is plain text (the firmware's log lines).

``FrameDecoder`` turns a byte stream into ``Frame`` and ``Text`` events and resynchronises
after garbage: every 0x00 ends whatever was being collected, and a collected body that does
not decode is reported as ``Garbage`` while the 0x00 that ended it is taken as the start of
the next frame (it may have been one whose leading zero was lost).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

CRC_BYTES = 4
DELIMITER = 0
# a text line longer than this without '\n' is flushed anyway (a garbled stream has no
# newlines; the monitor should still show it)
MAX_TEXT_LINE = 1024


class FramingError(ValueError):
    """A frame body that is not valid COBS or fails its CRC."""


def crc32(data: bytes) -> int:
    """CRC-32/IEEE (zlib's), as mf_proto_crc32 computes it."""
    return zlib.crc32(data) & 0xFFFFFFFF


def cobs_encode(data: bytes) -> bytes:
    out = bytearray()
    i, n = 0, len(data)
    while True:
        run = 0
        while i + run < n and data[i + run] != 0 and run < 254:
            run += 1
        out.append(run + 1)
        out += data[i:i + run]
        i += run
        if run < 254:
            if i >= n:
                break
            i += 1  # the zero this block's code stands for
        elif i >= n:
            break
    return bytes(out)


def cobs_decode(data: bytes) -> bytes:
    out = bytearray()
    i, n = 0, len(data)
    while i < n:
        code = data[i]
        i += 1
        if code == 0 or i + code - 1 > n:
            raise FramingError("malformed COBS block")
        out += data[i:i + code - 1]
        i += code - 1
        if code != 255 and i < n:
            out.append(0)
    return bytes(out)


def encode_frame(payload: bytes) -> bytes:
    body = payload + crc32(payload).to_bytes(CRC_BYTES, "little")
    return bytes([DELIMITER]) + cobs_encode(body) + bytes([DELIMITER])


def decode_body(body: bytes) -> bytes:
    """Payload of one frame body (the bytes between two zeros); raises FramingError."""
    raw = cobs_decode(body)
    if len(raw) < CRC_BYTES + 2:
        raise FramingError(f"frame of {len(raw)} bytes is too short")
    payload, crc = raw[:-CRC_BYTES], int.from_bytes(raw[-CRC_BYTES:], "little")
    if crc32(payload) != crc:
        raise FramingError("CRC mismatch")
    return payload


@dataclass(frozen=True)
class Frame:
    payload: bytes


@dataclass(frozen=True)
class Text:
    line: str           # without the line ending


@dataclass(frozen=True)
class Garbage:
    data: bytes         # what was thrown away (the monitor shows it; it may be text)
    reason: str


Event = Frame | Text | Garbage


class FrameDecoder:
    """Incremental stream parser. ``feed(bytes) -> list[Event]``."""

    def __init__(self, max_frame: int = 64 * 1024) -> None:
        self._max_frame = max_frame
        self._in_frame = False
        self._buf = bytearray()
        self._overflow = 0

    def feed(self, data: bytes) -> list[Event]:
        events: list[Event] = []
        for b in data:
            if b == DELIMITER:
                self._on_zero(events)
            elif self._in_frame:
                if len(self._buf) < self._max_frame:
                    self._buf.append(b)
                else:
                    self._overflow += 1
            else:
                self._buf.append(b)
                if b == 0x0A or len(self._buf) >= MAX_TEXT_LINE:
                    events.append(self._text())
        return events

    def flush_text(self) -> list[Event]:
        """Pending partial text line (e.g. before the link closes)."""
        if not self._in_frame and self._buf:
            return [self._text()]
        return []

    def _text(self) -> Text:
        line = self._buf.decode("utf-8", errors="replace").rstrip("\r\n")
        self._buf.clear()
        return Text(line)

    def _on_zero(self, events: list[Event]) -> None:
        if not self._in_frame:
            if self._buf:
                events.append(self._text())
            self._in_frame = True
            return
        if not self._buf and not self._overflow:
            return  # "00 00": end of one frame and start of the next, or a leading flush
        body, overflow = bytes(self._buf), self._overflow
        self._buf.clear()
        self._overflow = 0
        if overflow:
            events.append(Garbage(body, f"frame longer than {self._max_frame} bytes"))
            return
        try:
            events.append(Frame(decode_body(body)))
        except FramingError as exc:
            # stay in frame mode: this zero may have been the start of a real frame
            events.append(Garbage(body, str(exc)))
            return
        self._in_frame = False
