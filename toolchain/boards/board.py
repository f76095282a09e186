"""Board records: one TOML file per board under ``boards/``, loaded into frozen dataclasses.

A board is data. Code asks a board for what it has (``board.core.simd == "mve"``,
``board.qemu is None``), never for who it is: no ``if board.name == ...`` anywhere.

Memory sizes are the real part's, even where the simulator maps more: the linker script
enforces them, so a model that would not fit the silicon does not link for the simulator
either.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

from toolchain import resources
from toolchain.errors import McuforgeError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

BOARDS_DIR = resources.BOARDS_DIR

Simd = Literal["none", "mve", "rvv"]
Startup = Literal["cortexm", "riscv", "riscv_cluster", "hosted"]
UartKind = Literal["cmsdk", "stm32_usart", "stm32_usart_v2", "ns16550", "stdio"]
ExitMethod = Literal["semihosting", "sifive_test", "hosted", "spin"]



class BoardError(McuforgeError, ValueError):
    """A board name that does not exist, or a TOML record that is malformed."""


@dataclass(frozen=True)
class Core:
    name: str                 # e.g. "cortex-m7"; informative, never branched on
    arch: str                 # e.g. "armv7e-m", "rv32imafc_zfh_v"
    has_fpu: bool
    fp16_storage: bool        # _Float16 loads/stores (converts in hardware or libgcc)
    fp16_arith: bool          # native FP16 arithmetic (M55 FP16, RISC-V Zfh)
    simd: Simd
    vlen_bits: int | None = None  # RVV VLEN; None without RVV


@dataclass(frozen=True)
class Region:
    origin: int
    size: int

    @property
    def end(self) -> int:
        return self.origin + self.size

    def contains(self, address: int) -> bool:
        return self.origin <= address < self.end


@dataclass(frozen=True)
class Memory:
    flash: Region
    ram: Region
    stack_size: int           # bytes reserved for the stack inside RAM by default


@dataclass(frozen=True)
class Toolchain:
    cc: str                   # compiler driver, also used to link
    cflags: tuple[str, ...]   # target and optimisation flags
    ldflags: tuple[str, ...]
    libs: tuple[str, ...]     # e.g. ("-lm",)
    # clang has no sysroot for bare-metal targets here: libgcc and the C library come from
    # the GCC cross toolchain, asked with these flags (see toolchain.build.compiler)
    libs_from_gcc: str | None = None
    libs_from_gcc_flags: tuple[str, ...] = ()
    picolibc_root: str | None = None


@dataclass(frozen=True)
class Uart:
    kind: UartKind
    base: int | None          # None for stdio


@dataclass(frozen=True)
class Exit:
    method: ExitMethod
    base: int | None = None   # device address where the method needs one (sifive_test)


@dataclass(frozen=True)
class Qemu:
    system: str               # e.g. "qemu-system-arm"
    machine: str
    cpu: str | None = None
    extra_args: tuple[str, ...] = ()
    # Memory the simulated machine maps beyond the real part's flash and RAM: simulator builds
    # put their baked-in test inputs there, so a test image is budgeted like the deployable one.
    testdata_origin: int | None = None
    testdata_size: int = 0


@dataclass(frozen=True)
class Silicon:
    """Where the real part differs from the QEMU machine used to simulate it."""

    flash_origin: int
    ram_origin: int
    uart: Uart
    exit: Exit


@dataclass(frozen=True)
class FlashMethod:
    openocd_config: str | None = None   # e.g. "board/stm32f7discovery.cfg"
    pyocd_target: str | None = None     # e.g. "stm32f746zg"


@dataclass(frozen=True)
class Renode:
    platform: str             # .repl path inside Renode's platforms/ tree
    uart: str                 # peripheral name of the console UART in that platform


@dataclass(frozen=True)
class Cluster:
    """Several harts sharing memory (the runtime's board/mf_cluster_riscv.c): hart 0 runs the model,
    kernels fork over the others. A build may use fewer harts than the part has (--harts)."""

    harts: int                # harts the part has, 2..64
    ipi_base: int             # CLINT: msip of hart h at ipi_base + 4 h (the wake-up interrupt)


@dataclass(frozen=True)
class Board:
    name: str
    description: str
    core: Core
    memory: Memory
    toolchain: Toolchain
    startup: Startup
    uart: Uart                # the console as the simulator (or host) sees it
    exit: Exit
    qemu: Qemu | None = None
    silicon: Silicon | None = None
    flash: FlashMethod = field(default_factory=FlashMethod)
    renode: Renode | None = None
    cluster: Cluster | None = None

    @property
    def max_harts(self) -> int:
        return self.cluster.harts if self.cluster is not None else 1

    @property
    def simulated(self) -> bool:
        return self.qemu is not None

    @property
    def bare_metal(self) -> bool:
        """True when the harness provides start-up and linker script (not the host)."""
        return self.startup != "hosted"


# ---- loading --------------------------------------------------------------------------------

def list_boards(boards_dir: Path = BOARDS_DIR) -> list[str]:
    """Names of all boards, sorted."""
    return sorted(p.stem for p in boards_dir.glob("*.toml"))


def load_board(name: str, boards_dir: Path = BOARDS_DIR) -> Board:
    """Loads ``boards/<name>.toml``; raises BoardError naming the file and the bad field."""
    path = boards_dir / f"{name}.toml"
    # a board name is a file name in boards/ and goes into firmware text: no paths, no quotes
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", name) or not path.is_file():
        known = ", ".join(list_boards(boards_dir)) or "none"
        raise BoardError(f"unknown board '{name}' (known boards: {known})")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise BoardError(f"{path}: invalid TOML: {exc}") from exc
    board = _board_from_dict(_Fields(data, str(path)))
    if board.name != name:
        raise BoardError(f"{path}: name = '{board.name}' does not match the file name")
    return board


class _Fields:
    """Typed access to one TOML table, with errors that name the file and the key."""

    def __init__(self, data: dict[str, Any], where: str) -> None:
        self._data = data
        self.where = where
        self._read: set[str] = set()

    def _get(self, key: str, kind: type | tuple[type, ...], default: Any) -> Any:
        self._read.add(key)
        if key not in self._data:
            if default is _REQUIRED:
                raise BoardError(f"{self.where}: missing field '{key}'")
            return default
        value = self._data[key]
        # bool is an int in Python: refuse true/false where a number is expected
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise BoardError(f"{self.where}: field '{key}' should be {_kind_name(kind)}, "
                             f"got {value!r}")
        return value

    def text(self, key: str, default: Any = None) -> Any:
        return self._get(key, str, default)

    def integer(self, key: str, default: Any = None) -> Any:
        return self._get(key, int, default)

    def flag(self, key: str, default: Any = None) -> Any:
        return self._get(key, bool, default)

    def strs(self, key: str) -> tuple[str, ...]:
        values = self._get(key, list, [])
        if not all(isinstance(v, str) for v in values):
            raise BoardError(f"{self.where}: field '{key}' should be a list of strings")
        return tuple(values)

    def choice(self, key: str, allowed: Any, default: Any = None) -> Any:
        value = self.text(key, default)
        options = get_args(allowed)
        if value is not None and value not in options:
            raise BoardError(f"{self.where}: field '{key}' = '{value}' is not one of "
                             f"{', '.join(options)}")
        return value

    def table(self, key: str, required: bool = True) -> _Fields | None:
        self._read.add(key)
        if key not in self._data:
            if required:
                raise BoardError(f"{self.where}: missing table [{key}]")
            return None
        value = self._data[key]
        if not isinstance(value, dict):
            raise BoardError(f"{self.where}: '{key}' should be a table")
        return _Fields(value, f"{self.where} [{key}]")

    def done(self) -> None:
        """Unknown keys are typos more often than not: refuse them."""
        unknown = sorted(set(self._data) - self._read)
        if unknown:
            raise BoardError(f"{self.where}: unknown field(s) {', '.join(unknown)}")


_REQUIRED = object()


def _kind_name(kind: type | tuple[type, ...]) -> str:
    return {str: "a string", int: "an integer", bool: "true or false",
            list: "a list"}.get(kind, str(kind))  # type: ignore[call-overload]


def _uart(t: _Fields) -> Uart:
    uart = Uart(kind=t.choice("kind", UartKind, _REQUIRED), base=t.integer("base"))
    if uart.kind != "stdio" and uart.base is None:
        raise BoardError(f"{t.where}: a '{uart.kind}' UART needs a base address")
    t.done()
    return uart


def _exit(t: _Fields) -> Exit:
    exit_ = Exit(method=t.choice("method", ExitMethod, _REQUIRED), base=t.integer("base"))
    if exit_.method == "sifive_test" and exit_.base is None:
        raise BoardError(f"{t.where}: exit method 'sifive_test' needs a base address")
    t.done()
    return exit_


def _board_from_dict(f: _Fields) -> Board:
    c = f.table("core")
    assert c is not None
    core = Core(name=c.text("name", _REQUIRED), arch=c.text("arch", _REQUIRED),
                has_fpu=c.flag("has_fpu", _REQUIRED),
                fp16_storage=c.flag("fp16_storage", False),
                fp16_arith=c.flag("fp16_arith", False),
                simd=c.choice("simd", Simd, "none"), vlen_bits=c.integer("vlen_bits"))
    c.done()
    if (core.simd == "rvv") != (core.vlen_bits is not None):
        raise BoardError(f"{f.where}: [core] vlen_bits is required with simd = 'rvv' "
                         "and meaningless otherwise")

    m = f.table("memory")
    assert m is not None
    memory = Memory(
        flash=Region(m.integer("flash_origin", _REQUIRED), m.integer("flash_size", _REQUIRED)),
        ram=Region(m.integer("ram_origin", _REQUIRED), m.integer("ram_size", _REQUIRED)),
        stack_size=m.integer("stack_size", _REQUIRED))
    m.done()

    t = f.table("toolchain")
    assert t is not None
    toolchain = Toolchain(cc=t.text("cc", _REQUIRED), cflags=t.strs("cflags"),
                          ldflags=t.strs("ldflags"), libs=t.strs("libs"),
                          libs_from_gcc=t.text("libs_from_gcc"),
                          libs_from_gcc_flags=t.strs("libs_from_gcc_flags"),
                          picolibc_root=t.text("picolibc_root"))
    t.done()
    if (toolchain.libs_from_gcc is None) != (toolchain.picolibc_root is None):
        raise BoardError(f"{f.where}: [toolchain] libs_from_gcc and picolibc_root go together")

    uart_t = f.table("uart")
    exit_t = f.table("exit")
    assert uart_t is not None and exit_t is not None
    uart, exit_ = _uart(uart_t), _exit(exit_t)

    qemu = None
    if (q := f.table("qemu", required=False)) is not None:
        qemu = Qemu(system=q.text("system", _REQUIRED), machine=q.text("machine", _REQUIRED),
                    cpu=q.text("cpu"), extra_args=q.strs("extra_args"),
                    testdata_origin=q.integer("testdata_origin"), testdata_size=q.integer("testdata_size", 0))
        q.done()

    silicon = None
    if (s := f.table("silicon", required=False)) is not None:
        su, se = s.table("uart"), s.table("exit")
        assert su is not None and se is not None
        silicon = Silicon(flash_origin=s.integer("flash_origin", memory.flash.origin),
                          ram_origin=s.integer("ram_origin", memory.ram.origin),
                          uart=_uart(su), exit=_exit(se))
        s.done()

    flash = FlashMethod()
    if (fl := f.table("flash", required=False)) is not None:
        flash = FlashMethod(openocd_config=fl.text("openocd_config"),
                            pyocd_target=fl.text("pyocd_target"))
        fl.done()

    renode = None
    if (r := f.table("renode", required=False)) is not None:
        renode = Renode(platform=r.text("platform", _REQUIRED), uart=r.text("uart", _REQUIRED))
        r.done()

    cluster = None
    if (cl := f.table("cluster", required=False)) is not None:
        cluster = Cluster(harts=cl.integer("harts", _REQUIRED), ipi_base=cl.integer("ipi_base", _REQUIRED))
        cl.done()
        if not 2 <= cluster.harts <= 64:
            raise BoardError(f"{cl.where}: harts = {cluster.harts} is not in 2..64")

    board = Board(name=f.text("name", _REQUIRED), description=f.text("description", ""),
                  core=core, memory=memory, toolchain=toolchain,
                  startup=f.choice("startup", Startup, _REQUIRED), uart=uart, exit=exit_,
                  qemu=qemu, silicon=silicon, flash=flash, renode=renode, cluster=cluster)
    f.done()
    return board
