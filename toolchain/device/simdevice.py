"""A simulated board that behaves like one on the desk: QEMU started empty and halted
(-S), its GDB stub on one TCP port (the "probe") and its console UART on another (the
"serial port"), so flash / monitor / validate run unchanged against it:

    mcuforge sim-device --board rv32-rvv --gdb-port 3333 --uart-port 4444
    mcuforge flash model.onnx --board rv32-rvv --target qemu --probe gdb://127.0.0.1:3333
    mcuforge validate model.onnx --board rv32-rvv --port socket://127.0.0.1:4444

``-icount shift=0`` makes one instruction one nanosecond of virtual time: what the RISC-V
minstret counter reads is then the exact instruction count (and runs are deterministic).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from toolchain.boards import Board
from toolchain.device.errors import DeviceError
from toolchain.sim.qemu import EXIT_ARGS

HOST = "127.0.0.1"
READY_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 5.0


def free_port() -> int:
    """A TCP port nobody listens on right now (bind to port 0, read it back)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def sim_device_command(board: Board, gdb_port: int, uart_port: int, *,
                       icount: bool = True) -> list[str]:
    if board.qemu is None:
        raise DeviceError(f"board {board.name} has no QEMU machine to simulate it with")
    q = board.qemu
    cmd = [q.system, "-M", q.machine]
    if q.cpu is not None:
        cmd += ["-cpu", q.cpu]
    # wait=off: QEMU runs without a UART client (output is dropped until one connects),
    # so the serial port can be opened, closed and reopened like a board's
    cmd += [*q.extra_args, "-S", "-gdb", f"tcp:{HOST}:{gdb_port}",
            "-serial", f"tcp:{HOST}:{uart_port},server=on,wait=off",
            "-display", "none", "-monitor", "none", *EXIT_ARGS.get(board.exit.method, ())]
    if icount:
        cmd += ["-icount", "shift=0"]
    return cmd


@dataclass
class SimDevice:
    board: Board
    gdb_port: int
    uart_port: int
    command: list[str]
    process: subprocess.Popen[bytes]
    log_path: Path | None = None
    _log: IO[bytes] | None = field(default=None, repr=False)

    @property
    def probe(self) -> str:
        return f"gdb://{HOST}:{self.gdb_port}"

    @property
    def port(self) -> str:
        return f"socket://{HOST}:{self.uart_port}"

    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_TIMEOUT_S)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> SimDevice:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_sim_device(board: Board, gdb_port: int | None = None, uart_port: int | None = None,
                     *, icount: bool = True, log_path: Path | None = None,
                     ready_timeout: float = READY_TIMEOUT_S) -> SimDevice:
    """Starts QEMU and returns once its GDB stub accepts connections. Raises DeviceError
    naming the command and QEMU's complaint if it does not come up."""
    gdb_port = free_port() if gdb_port is None else gdb_port
    uart_port = free_port() if uart_port is None else uart_port
    cmd = sim_device_command(board, gdb_port, uart_port, icount=icount)
    if shutil.which(cmd[0]) is None:
        raise DeviceError(f"{cmd[0]} is not installed (needed to simulate {board.name})")
    # stderr to a file, never a pipe nobody drains (QEMU would block on a full pipe)
    log = open(log_path, "wb") if log_path else tempfile.TemporaryFile()  # noqa: SIM115
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=log)
    dev = SimDevice(board, gdb_port, uart_port, cmd, proc, log_path, log)
    deadline = time.monotonic() + ready_timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log.seek(0)
            why = log.read().decode(errors="replace").strip()
            log.close()
            raise DeviceError(f"QEMU for {board.name} exited ({proc.returncode}) at start: "
                              f"{why.splitlines()[-1] if why else 'no message'}; command: "
                              f"{' '.join(cmd)}")
        if _listening(uart_port) and _listening(gdb_port):
            return dev
        time.sleep(0.05)
    dev.stop()
    raise DeviceError(f"QEMU for {board.name} did not open ports {gdb_port}/{uart_port} "
                      f"within {ready_timeout:.0f} s")


def _listening(port: int) -> bool:
    """True when something listens on ``port``, without connecting to it (a connection
    would be QEMU's one client): the port cannot be bound."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((HOST, port))
        except OSError:
            return True
        return False
