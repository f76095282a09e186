"""The serial link: any URL pyserial accepts (/dev/ttyACM0, COM3, socket://HOST:PORT,
rfc2217://...), with bounded reads and a bounded reopen for boards that reset (a USB CDC
port disappears and comes back) or links that drop (a TCP UART's client is closed)."""

from __future__ import annotations

import time

import serial

from toolchain.device.errors import LinkError

POLL_S = 0.02           # granularity of reads: how quickly a deadline is noticed
WRITE_TIMEOUT_S = 5.0


class Link:
    def __init__(self, url: str, baudrate: int = 115200, *, reopen_attempts: int = 5,
                 reopen_wait: float = 0.5) -> None:
        self.url = url
        self.baudrate = baudrate
        self.reopen_attempts = reopen_attempts
        self.reopen_wait = reopen_wait
        self._port: serial.SerialBase | None = None

    def __enter__(self) -> Link:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> None:
        try:
            self._port = serial.serial_for_url(self.url, baudrate=self.baudrate, timeout=POLL_S,
                                               write_timeout=WRITE_TIMEOUT_S)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise LinkError(f"cannot open serial port {self.url}: {_why(exc)}") from exc

    def close(self) -> None:
        if self._port is not None:
            try:
                self._port.close()
            except (serial.SerialException, OSError):
                pass  # closing a port that already went away
            self._port = None

    def reopen(self) -> None:
        """Closes and opens again, a bounded number of times; raises LinkError."""
        self.close()
        last: LinkError | None = None
        for _ in range(self.reopen_attempts):
            try:
                self.open()
                return
            except LinkError as exc:
                last = exc
                time.sleep(self.reopen_wait)
        raise LinkError(f"serial port {self.url} dropped and could not be reopened after "
                        f"{self.reopen_attempts} attempts ({last})")

    def read(self, deadline: float) -> bytes:
        """Bytes available before ``deadline`` (time.monotonic()); b"" when none came.
        Returns as soon as anything arrived. Raises LinkError if the link dropped."""
        port = self._require()
        while True:
            try:
                data = port.read(max(1, port.in_waiting))
            except (serial.SerialException, OSError) as exc:
                raise LinkError(f"serial port {self.url} dropped: {_why(exc)}") from exc
            if data or time.monotonic() >= deadline:
                return bytes(data)

    def write(self, data: bytes) -> None:
        port = self._require()
        try:
            port.write(data)
            port.flush()
        except (serial.SerialException, OSError) as exc:
            raise LinkError(f"writing to serial port {self.url} failed: {_why(exc)}") from exc

    def _require(self) -> serial.SerialBase:
        if self._port is None:
            raise LinkError(f"serial port {self.url} is not open")
        return self._port


def _why(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
