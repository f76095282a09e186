"""Programming an ELF into a board: ``gdb://HOST:PORT`` (any GDB server, QEMU's stub
included), ``pyocd`` (pyOCD's Python API, optional) or ``openocd`` (an installed OpenOCD
with the board's config). Each ends in one clear line when there is no probe, the target
is the wrong one or what was read back differs from the image.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from elftools.elf.elffile import ELFFile

from toolchain.boards import Board
from toolchain.device.errors import FlashError, ProbeNotFound, VerifyMismatch, WrongTarget
from toolchain.device.gdbremote import GdbRemote
from toolchain.sim.elfinfo import ElfInfo, read_elf

CORTEX_M_XPSR_THUMB = 0x01000000   # xPSR.T: Cortex-M only executes Thumb code
OPENOCD_TIMEOUT_S = 180.0
# ELF machine -> what a GDB target description's <architecture> starts with
ARCH_PREFIX = {"EM_ARM": "arm", "EM_RISCV": "riscv"}


@dataclass(frozen=True)
class FlashReport:
    probe: str
    bytes_written: int
    segments: int
    entry: int
    verified: bool


def flash(elf: str | Path, board: Board, probe: str, *, timeout: float = 10.0) -> FlashReport:
    """Programs ``elf`` with ``probe`` ("gdb://HOST:PORT", "pyocd" or "openocd")."""
    path = Path(elf)
    if not path.is_file():
        raise FlashError(f"{path} does not exist")
    if path.read_bytes()[:4] != b"\x7fELF":
        raise FlashError(f"{path} is not an ELF file (flash takes firmware.elf or a .onnx "
                         "model)")
    if probe.startswith("gdb://"):
        host, _, port = probe[len("gdb://"):].rpartition(":")
        if not host or not port.isdigit():
            raise FlashError(f"probe '{probe}' should look like gdb://HOST:PORT")
        return flash_gdb(path, host, int(port), timeout=timeout)
    if probe == "pyocd":
        return flash_pyocd(path, board)
    if probe == "openocd":
        return flash_openocd(path, board)
    raise FlashError(f"unknown probe '{probe}': use pyocd, openocd or gdb://HOST:PORT")


# ---- gdb:// -----------------------------------------------------------------------------------

def flash_gdb(elf: Path, host: str, port: int, *, timeout: float = 10.0) -> FlashReport:
    info = read_elf(elf)
    machine = _elf_machine(elf)
    segments = [s for s in info.segments if s.filesz > 0]
    if not segments:
        raise FlashError(f"{elf} has no loadable bytes")
    with GdbRemote(host, port, timeout=timeout) as gdb:
        gdb.handshake()
        arch = gdb.architecture()   # also the target.xml read QEMU wants before p/P
        want = ARCH_PREFIX.get(machine)
        if want is None:
            raise FlashError(f"{elf} is for {machine}; flashing supports Arm and RISC-V")
        if arch and not arch.startswith(want):
            raise WrongTarget(f"{gdb.where} is a '{arch}' target but {elf.name} is built for "
                              f"{want}: wrong board or wrong firmware")
        total = 0
        for seg in segments:
            gdb.write_memory(seg.paddr, seg.data[:seg.filesz])
            total += seg.filesz
        for seg in segments:
            back = gdb.read_memory(seg.paddr, seg.filesz)
            if back != seg.data[:seg.filesz]:
                bad = next(i for i, (a, b) in enumerate(zip(back, seg.data)) if a != b)
                raise VerifyMismatch(f"verify failed at {seg.paddr + bad:#010x}: wrote "
                                     f"{seg.data[bad]:#04x}, read back {back[bad]:#04x} "
                                     f"(is that address flash the stub cannot write?)")
        entry = _set_entry_state(gdb, info, machine)
        gdb.detach()
    return FlashReport(probe=f"gdb://{host}:{port}", bytes_written=total,
                       segments=len(segments), entry=entry, verified=True)


def set_entry_gdb(elf: Path, host: str, port: int, *, timeout: float = 10.0) -> int:
    """Restarts an already loaded ``elf`` at its entry (a reset without reprogramming)."""
    with GdbRemote(host, port, timeout=timeout) as gdb:
        gdb.handshake()
        gdb.architecture()   # QEMU answers p/P only after target.xml was read
        entry = _set_entry_state(gdb, read_elf(elf), _elf_machine(elf))
        gdb.detach()
    return entry


def _set_entry_state(gdb: GdbRemote, info: ElfInfo, machine: str) -> int:
    """What a reset would do: Cortex-M loads SP and PC from the vector table at the start of
    the image; RISC-V starts at the ELF entry."""
    if machine == "EM_ARM":
        base = min(s.paddr for s in info.segments if s.filesz > 0)
        table = next(s for s in info.segments if s.paddr == base).data
        sp = int.from_bytes(table[0:4], "little")
        pc = int.from_bytes(table[4:8], "little") & ~1
        gdb.write_register("sp", sp)
        gdb.write_register("pc", pc)
        gdb.write_register("xpsr", CORTEX_M_XPSR_THUMB)
    else:
        pc = info.entry
        gdb.write_register("pc", pc)
    if gdb.read_register("pc") != pc:
        raise FlashError(f"{gdb.where} did not take the entry point {pc:#010x}")
    return pc


def _elf_machine(elf: Path) -> str:
    with open(elf, "rb") as fh:
        return str(ELFFile(fh).header["e_machine"])


# ---- pyOCD ------------------------------------------------------------------------------------

def flash_pyocd(elf: Path, board: Board) -> FlashReport:
    target = board.flash.pyocd_target
    if target is None:
        raise FlashError(f"board {board.name} names no pyOCD target (flash.pyocd_target)")
    try:
        from pyocd.core.helpers import ConnectHelper
        from pyocd.flash.file_programmer import FileProgrammer
    except ImportError as exc:
        raise FlashError("pyOCD is not installed: pip install pyocd (or use --probe "
                         "openocd or gdb://HOST:PORT)") from exc
    info = read_elf(elf)
    try:
        session = ConnectHelper.session_with_chosen_probe(
            blocking=False, target_override=target, options={"frequency": 4_000_000})
    except Exception as exc:  # pyOCD raises many types; the user needs the first line
        raise _pyocd_error(exc, target) from exc
    if session is None:
        raise ProbeNotFound("no debug probe found by pyOCD (is the board plugged in and not "
                            "held by another debugger?)")
    try:
        with session:
            FileProgrammer(session).program(str(elf), file_format="elf")
            total = 0
            for seg in (s for s in info.segments if s.filesz > 0):
                back = bytes(session.target.read_memory_block8(seg.paddr, seg.filesz))
                if back != seg.data[:seg.filesz]:
                    raise VerifyMismatch(f"verify failed in the segment at {seg.paddr:#010x} "
                                         f"after programming with pyOCD ({target})")
                total += seg.filesz
            session.target.reset()
    except VerifyMismatch:
        raise
    except Exception as exc:
        raise _pyocd_error(exc, target) from exc
    return FlashReport(probe="pyocd", bytes_written=total,
                       segments=sum(1 for s in info.segments if s.filesz > 0),
                       entry=info.entry, verified=True)


def _pyocd_error(exc: BaseException, target: str) -> FlashError:
    first = (str(exc).splitlines() or [type(exc).__name__])[0]
    if re.search(r"target|part number|idcode|not recognized|unsupported", first, re.I):
        return WrongTarget(f"pyOCD: {first} (board expects target {target})")
    return FlashError(f"pyOCD failed: {first}")


# ---- OpenOCD ----------------------------------------------------------------------------------

_OPENOCD_CLASSES: list[tuple[re.Pattern[str], type[FlashError], str]] = [
    (re.compile(r"open failed|no device found|unable to find|LIBUSB_ERROR|"
                r"Can't find a matching|No J-Link device", re.I),
     ProbeNotFound, "no debug probe found"),
    (re.compile(r"UNEXPECTED idcode|expected \d+ of \d+|target not examined|"
                r"Could not find MEM-AP|Cannot identify target", re.I),
     WrongTarget, "the connected chip is not the board's target"),
    (re.compile(r"verify failed|checksum mismatch|contents differ", re.I),
     VerifyMismatch, "verify failed after programming"),
]


def flash_openocd(elf: Path, board: Board) -> FlashReport:
    config = board.flash.openocd_config
    if config is None:
        raise FlashError(f"board {board.name} names no OpenOCD config (flash.openocd_config)")
    if shutil.which("openocd") is None:
        raise FlashError("openocd is not installed (apt-get install openocd), or use "
                         "--probe pyocd or gdb://HOST:PORT")
    cmd = ["openocd", "-f", config, "-c", f"program {elf} verify reset exit"]
    try:
        run = subprocess.run(cmd, capture_output=True, text=True, errors="replace",
                             timeout=OPENOCD_TIMEOUT_S, stdin=subprocess.DEVNULL, check=False)
    except subprocess.TimeoutExpired as exc:
        raise FlashError(f"openocd did not finish within {OPENOCD_TIMEOUT_S:.0f} s") from exc
    if run.returncode == 0:
        info = read_elf(elf)
        segs = [s for s in info.segments if s.filesz > 0]
        return FlashReport(probe="openocd", bytes_written=sum(s.filesz for s in segs),
                           segments=len(segs), entry=info.entry, verified=True)
    raise openocd_error(run.stdout + run.stderr, config)


def openocd_error(output: str, config: str) -> FlashError:
    """One line from OpenOCD's output: the class of failure and its own first error."""
    errors = [ln.strip() for ln in output.splitlines() if ln.strip().startswith("Error")]
    first = errors[0] if errors else (output.strip().splitlines() or ["no output"])[-1]
    for pattern, cls, what in _OPENOCD_CLASSES:
        if pattern.search(output):
            return cls(f"openocd ({config}): {what}: {first}")
    return FlashError(f"openocd ({config}) failed: {first}")
