"""Test support for the device layer (imported by tests/test_device_*.py, not by the CLI):
a TCP proxy that damages the serial link and a device reset through the GDB stub. The
pytest fixture that starts simulated devices lives in tests/fixtures/device_support.py, so
the library does not import pytest."""

from __future__ import annotations

import random
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from toolchain.device.flashing import set_entry_gdb
from toolchain.device.simdevice import HOST, SimDevice, free_port

StartSim = Callable[[str], SimDevice]


def reset_device(dev: SimDevice, elf: Path) -> None:
    """What the reset button does: the CPU restarts at the image's entry (RAM keeps its
    contents; the start-up code re-initialises what it owns)."""
    set_entry_gdb(elf, HOST, dev.gdb_port)


@dataclass
class Faults:
    """Per-byte probabilities and limits of what the proxy does to the stream."""

    drop: float = 0.0
    corrupt: float = 0.0
    max_delay: float = 0.0             # seconds, random per forwarded chunk
    reset_every: int | None = None     # close both sides after about this many bytes
    seed: int = 0


@dataclass
class FaultyProxy:
    """Listens on a free port and forwards to ``upstream_port``, damaging bytes as
    ``faults`` says. One client at a time; a new client gets a new upstream connection."""

    upstream_port: int
    faults: Faults
    port: int = field(default_factory=free_port)
    resets: int = 0
    damaged: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"socket://{HOST}:{self.port}"

    def __enter__(self) -> FaultyProxy:
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind((HOST, self.port))
        self._server.listen(1)
        self._server.settimeout(0.1)
        self._rng = random.Random(self.faults.seed)
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        self._server.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except OSError:
                continue
            try:
                upstream = socket.create_connection((HOST, self.upstream_port), timeout=5)
            except OSError:
                client.close()
                continue
            self._pump_pair(client, upstream)

    def _pump_pair(self, client: socket.socket, upstream: socket.socket) -> None:
        budget = [self._next_reset()]
        done = threading.Event()
        threads = [threading.Thread(target=self._pump, args=(a, b, done, budget), daemon=True)
                   for a, b in ((client, upstream), (upstream, client))]
        for t in threads:
            t.start()
        while not done.is_set() and not self._stop.is_set():
            done.wait(0.05)
        for s in (client, upstream):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        for t in threads:
            t.join(2)

    def _next_reset(self) -> float:
        every = self.faults.reset_every
        return float("inf") if every is None else self._rng.randint(every // 2, every)

    def _pump(self, src: socket.socket, dst: socket.socket, done: threading.Event,
              budget: list[float]) -> None:
        src.settimeout(0.05)
        while not done.is_set():
            try:
                data = src.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                break
            if not data:
                break
            out = self._damage(data)
            with self._lock:
                budget[0] -= len(data)
                reset = budget[0] <= 0
                delay = self._rng.random() * self.faults.max_delay
            if reset:
                self.resets += 1
                break
            if delay:
                time.sleep(delay)
            try:
                dst.sendall(out)
            except OSError:
                break
        done.set()

    def _damage(self, data: bytes) -> bytes:
        f = self.faults
        if not (f.drop or f.corrupt):
            return data
        out = bytearray()
        with self._lock:
            for b in data:
                r = self._rng.random()
                if r < f.drop:
                    self.damaged += 1
                    continue
                if r < f.drop + f.corrupt:
                    self.damaged += 1
                    b ^= 1 << self._rng.randrange(8)
                out.append(b)
        return bytes(out)
