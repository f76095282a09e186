"""Serial monitor: the firmware's text lines as they come, protocol frames decoded to one
line each, garbage shown for what it is. Reconnects (a bounded number of times in a row)
when the link drops or the board resets; Ctrl-C ends it cleanly (the caller catches
KeyboardInterrupt)."""

from __future__ import annotations

import time
from collections.abc import Callable

from toolchain.device import protocol as P
from toolchain.device.errors import LinkError
from toolchain.device.framing import Frame, FrameDecoder, Garbage, Text
from toolchain.device.link import Link

READ_SLICE_S = 0.2


def describe_frame(payload: bytes) -> str:
    kind, seq, body = payload[0], payload[1], payload[P.HEADER:]
    if kind == P.RSP_BUSY:
        return f"[frame seq {seq}: busy]"
    if kind == P.RSP_ERROR:
        code = body[0] if body else 0
        return f"[frame seq {seq}: error {code} {body[1:].decode('ascii', 'replace')}]"
    base = kind & ~P.RSP_OK
    try:
        name = P.Cmd(base).name.lower()
    except ValueError:
        name = f"type {kind:#04x}"
    what = "reply" if kind & P.RSP_OK else "request"
    if kind == P.Cmd.RUN | P.RSP_OK:
        try:
            run = P.parse_run(body)
            return (f"[frame seq {seq}: run reply, status {run.status}, "
                    f"{run.count:,} {P.COUNTER_WORDS[run.counter]}]")
        except ValueError:
            pass
    return f"[frame seq {seq}: {name} {what}, {len(body)} bytes]"


def monitor(url: str, baudrate: int = 115200, *, emit: Callable[[str], None] = print,
            reconnects: int = 10, reconnect_wait: float = 0.5,
            duration: float | None = None, show_frames: bool = True) -> None:
    """Runs until Ctrl-C (KeyboardInterrupt propagates to the caller), ``duration`` seconds,
    or ``reconnects`` failed reopen attempts in a row (LinkError)."""
    end = None if duration is None else time.monotonic() + duration
    link = Link(url, baudrate, reopen_attempts=1, reopen_wait=reconnect_wait)
    link.open()
    decoder = FrameDecoder()
    failures = 0
    try:
        while end is None or time.monotonic() < end:
            try:
                data = link.read(time.monotonic() + READ_SLICE_S)
            except LinkError:
                for ev in decoder.flush_text():
                    emit(ev.line)  # type: ignore[union-attr]
                emit(f"[link to {url} dropped; reconnecting]")
                decoder = FrameDecoder()
                while True:
                    try:
                        link.reopen()
                        break
                    except LinkError as exc:
                        failures += 1
                        if failures > reconnects:
                            raise LinkError(f"{url} did not come back after {reconnects} "
                                            "reconnect attempts") from exc
                        if end is not None and time.monotonic() >= end:
                            return
                failures = 0
                emit(f"[reconnected to {url}]")
                continue
            for ev in decoder.feed(data):
                if isinstance(ev, Text):
                    emit(ev.line)
                elif isinstance(ev, Frame):
                    if show_frames:
                        emit(describe_frame(ev.payload))
                elif isinstance(ev, Garbage):
                    shown = ev.data.decode("ascii", errors="replace")
                    emit(f"[{len(ev.data)} bytes not a frame ({ev.reason}): {shown!r}]")
    finally:
        link.close()
