"""Host side of the device protocol: requests with bounded retries, inference transfers
that survive a device reset, one clear line when they cannot.

Every wait has a deadline. A request is resent (same sequence number, so the device answers
a duplicate from its cache instead of executing it again) after a timeout, a corrupt frame
or a dropped link, at most ``retries`` times. An inference (write inputs, run, read outputs)
is restarted from the first chunk when the device says it lost the transfer's state, at most
``restarts`` times. Nothing is ever returned that did not arrive in a frame whose CRC matched
and whose sequence number is the request's.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from toolchain.device import protocol as P
from toolchain.device.errors import DeviceRejected, LinkError, ProtocolError
from toolchain.device.framing import Event, FrameDecoder, Garbage, Text, encode_frame

BOOT_PREFIX = "MF_BOOT"


class LinkLike(Protocol):
    """What the client needs from a link (toolchain.device.link.Link; tests use pipes)."""

    url: str

    def read(self, deadline: float) -> bytes: ...

    def write(self, data: bytes) -> None: ...

    def reopen(self) -> None: ...


class StateLost(DeviceRejected):
    """The device no longer holds the transfer's state (it reset, or a chunk was lost)."""


@dataclass(frozen=True)
class Inference:
    outputs: list[bytes]
    run: P.RunReply
    attempts: int            # 1 + restarts needed


@dataclass
class LinkStats:
    """What the link went through; the fault tests and ``validate --json`` report it."""

    requests: int = 0
    resends: int = 0
    timeouts: int = 0
    bad_frames: int = 0
    stale_frames: int = 0
    reconnects: int = 0
    boots_seen: int = 0
    restarts: int = 0


class DeviceClient:
    def __init__(self, link: LinkLike, *, timeout: float = 1.0, run_timeout: float = 120.0,
                 retries: int = 8, restarts: int = 4,
                 on_text: Callable[[str], None] | None = None) -> None:
        """timeout: wait for a short reply (or for BUSY); run_timeout: for a long command
        once the device said BUSY. retries: resends per request; restarts: per inference."""
        self.link = link
        self.timeout = timeout
        self.run_timeout = run_timeout
        self.retries = retries
        self.restarts = restarts
        self.on_text = on_text
        self.stats = LinkStats()
        self._seq = 0
        self._decoder = FrameDecoder()
        self._pending: deque[Event] = deque()
        self._info: P.DeviceInfo | None = None

    # ---- requests ---------------------------------------------------------------------------

    def request(self, cmd: int, body: bytes = b"", *, long: bool = False) -> bytes:
        """Sends one command, returns the body of its OK reply. ``long``: the device answers
        BUSY first, then the result (RUN and the extension commands)."""
        self._seq = (self._seq + 1) & 0xFF
        seq = self._seq
        frame = encode_frame(P.request(cmd, seq, body))
        name = _cmd_name(cmd)
        problem = "no answer"
        self.stats.requests += 1
        for attempt in range(self.retries + 1):
            if attempt:
                self.stats.resends += 1
            try:
                self.link.write(frame)
                # a long command whose BUSY was lost is still running: wait longer each time
                wait = min(self.timeout * (2 ** attempt if long else 1), self.run_timeout)
                reply = self._await(cmd, seq, wait, long)
            except LinkError as exc:
                problem = str(exc)
                self._reconnect()
                continue
            if isinstance(reply, bytes):
                return reply
            problem = reply
        raise ProtocolError(f"{name} request to {self.link.url} failed after "
                            f"{self.retries + 1} attempts: {problem}")

    def _await(self, cmd: int, seq: int, wait: float, long: bool) -> bytes | str:
        """The reply body, or a string saying why this attempt should be retried."""
        deadline = time.monotonic() + wait
        while True:
            event = self._next_event(deadline)
            if event is None:
                self.stats.timeouts += 1
                return f"no answer within {wait:.1f} s"
            if isinstance(event, Text):
                if self.on_text is not None:
                    self.on_text(event.line)
                if event.line.startswith(BOOT_PREFIX):
                    # the device (re)started: whatever it was doing for us is gone
                    self.stats.boots_seen += 1
                    return "the device restarted"
                continue
            if isinstance(event, Garbage):
                self.stats.bad_frames += 1
                return f"corrupt frame ({event.reason})"
            payload = event.payload
            if payload[1] != seq:
                self.stats.stale_frames += 1   # a late answer to an earlier attempt
                continue
            kind, body = payload[0], payload[P.HEADER:]
            if kind == P.RSP_BUSY and long:
                deadline = time.monotonic() + self.run_timeout
                continue
            if kind == P.RSP_ERROR:
                raise _rejected(cmd, body, self.link.url)
            if kind == (cmd | P.RSP_OK):
                return body
            self.stats.stale_frames += 1

    def _next_event(self, deadline: float) -> Event | None:
        while not self._pending:
            data = self.link.read(deadline)
            if not data:
                return None
            self._pending.extend(self._decoder.feed(data))
        return self._pending.popleft()

    def _reconnect(self) -> None:
        self.stats.reconnects += 1
        self._decoder = FrameDecoder()   # a half frame from before the drop is worthless
        self._pending.clear()
        self.link.reopen()

    # ---- commands ---------------------------------------------------------------------------

    def info(self) -> P.DeviceInfo:
        body = self.request(P.Cmd.INFO)
        try:
            info = P.parse_info(body)
        except ValueError as exc:
            raise ProtocolError(f"device at {self.link.url}: {exc}") from exc
        if info.version != P.VERSION:
            raise ProtocolError(f"device at {self.link.url} speaks protocol version "
                                f"{info.version}, this mcuforge speaks {P.VERSION}: rebuild "
                                "and flash the firmware")
        self._info = info
        return info

    def infer(self, inputs: Sequence[bytes]) -> Inference:
        """Writes every input, runs the model, reads every output. Restarts the whole
        transfer when the device lost its state; raises ProtocolError when it keeps doing so."""
        info = self._info or self.info()
        if [len(x) for x in inputs] != list(info.input_bytes):
            raise ProtocolError(f"inputs of {[len(x) for x in inputs]} bytes do not match the "
                                f"device's model ({list(info.input_bytes)} bytes)")
        last: StateLost | None = None
        for attempt in range(self.restarts + 1):
            if attempt:
                self.stats.restarts += 1
            try:
                return self._infer_once(inputs, info, attempt + 1)
            except StateLost as exc:
                last = exc
        raise ProtocolError(f"inference on {self.link.url} did not complete in "
                            f"{self.restarts + 1} attempts; the device kept losing its state "
                            f"(is it resetting?): {last}")

    def _infer_once(self, inputs: Sequence[bytes], info: P.DeviceInfo,
                    attempt: int) -> Inference:
        chunk = info.max_payload - P.HEADER - 5
        for index, data in enumerate(inputs):
            for offset in range(0, len(data), chunk):
                part = data[offset:offset + chunk]
                body = self.request(P.Cmd.WRITE_INPUT, P.write_input_body(index, offset, part))
                if body != (offset + len(part)).to_bytes(4, "little"):
                    raise ProtocolError(f"device at {self.link.url} acknowledged input "
                                        f"{index} offset {offset} with a wrong fill level")
        try:
            run = P.parse_run(self.request(P.Cmd.RUN, long=True))
        except ValueError as exc:
            raise ProtocolError(f"device at {self.link.url}: {exc}") from exc
        if run.status != 0:
            raise DeviceRejected(f"the model on {self.link.url} returned status {run.status}",
                                 run.status)
        outputs = []
        step = info.max_payload - P.HEADER
        for index, size in enumerate(info.output_bytes):
            received = bytearray()
            for offset in range(0, size, step):
                n = min(step, size - offset)
                part = self.request(P.Cmd.READ_OUTPUT, P.read_output_body(index, offset, n))
                if len(part) != n:
                    raise ProtocolError(f"device at {self.link.url} sent {len(part)} bytes of "
                                        f"output {index} at offset {offset}, asked for {n}")
                received += part
            outputs.append(bytes(received))
        return Inference(outputs=outputs, run=run, attempts=attempt)


def _cmd_name(cmd: int) -> str:
    try:
        return P.Cmd(cmd).name
    except ValueError:
        return f"command {cmd:#04x}"


def _rejected(cmd: int, body: bytes, url: str) -> DeviceRejected:
    code = body[0] if body else 0
    detail = body[1:].decode("ascii", errors="replace")
    message = f"device at {url} refused {_cmd_name(cmd)}: {detail or 'error'} (code {code})"
    if code in P.STATE_LOST:
        return StateLost(message, code)
    return DeviceRejected(message, code)
