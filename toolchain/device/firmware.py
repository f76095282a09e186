"""Device firmware: the model plus the protocol main (templates/board/main_device.c.j2)
instead of the run-once test main, built through toolchain.build.build_firmware.

The firmware says which model it runs (the first 8 bytes of the ONNX file's SHA-256) and
which build it is (board, a hash of the generated C); validate refuses a device whose hash
differs from the model it is asked to check.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from toolchain.api import CompiledModel, compile_model, write_sources
from toolchain.boards import Board
from toolchain.codegen.ctext import c_comment, c_string
from toolchain.device.protocol import HASH_BYTES
from toolchain.build import HARNESS_DIR, BuildResult, Target, build_firmware, layout

MAIN_TEMPLATE = "main_device.c.j2"
# receive side of each UART kind, next to the transmit side of toolchain.build.harness
UART_RX_SOURCES: dict[str, str] = {
    "cmsdk": "uart_rx_cmsdk.c",
    "stm32_usart": "uart_rx_stm32_usart.c",
    "stm32_usart_v2": "uart_rx_stm32_usart_v2.c",
    "ns16550": "uart_rx_ns16550.c",
    "stdio": "uart_rx_stdio.c",
}
# the cost counter each start-up kind (core family) has
COUNTER_SOURCES: dict[str, str] = {
    "cortexm": "mf_counter_dwt.c",
    "riscv": "mf_counter_riscv.c",
    "hosted": "mf_counter_none.c",
}


@dataclass(frozen=True)
class DeviceBuild:
    build: BuildResult
    model_hash: bytes
    build_id: str

    @property
    def elf(self) -> Path:
        return self.build.elf


def model_hash(model: str | Path) -> bytes:
    return hashlib.sha256(Path(model).read_bytes()).digest()[:HASH_BYTES]


def device_sources(board: Board, target: Target) -> list[Path]:
    """The harness files the protocol main needs on top of toolchain.build's."""
    uart = layout(board, target).uart.kind
    names = ["mf_protocol.c", UART_RX_SOURCES[uart], COUNTER_SOURCES[board.startup]]
    return [HARNESS_DIR / n for n in names]


def build_device_firmware(model: str | Path | CompiledModel, board: Board, out_dir: str | Path, *,
                          target: Target = "silicon",
                          input_shapes: dict[str, tuple[int, ...]] | None = None,
                          timeout: float = 300.0) -> DeviceBuild:
    """Compiles ``model`` (or takes it compiled) and builds ``out_dir/firmware.elf`` serving
    the device protocol. target: "silicon" for a real board, "qemu" for `mcuforge sim-device`."""
    out = Path(out_dir)
    compiled = model if isinstance(model, CompiledModel) else compile_model(model, input_shapes)
    if compiled.options.stream_input:
        from toolchain.errors import McuforgeError

        raise McuforgeError("the device protocol writes whole inputs: build it without --stream-input")
    sources = write_sources(compiled, out / "model")
    digest = hashlib.sha256(board.name.encode())
    # every generated file, the kernel bodies the .c files include (.inc, .h) as well
    for f in sorted(p for p in sources.out_dir.rglob("*") if p.suffix in (".c", ".h", ".inc")):
        digest.update(Path(f).read_bytes())
    build_id = f"{board.name}-{target}-{digest.hexdigest()[:10]}"
    # A model given compiled has no file: its hash is that of the generated C.
    mhash = digest.digest()[:HASH_BYTES] if isinstance(model, CompiledModel) else model_hash(model)
    build = build_firmware([*sources.c_files, *device_sources(board, target)], board, out, [],
                           include_dirs=sources.include_dirs, target=target, timeout=timeout,
                           main_template=MAIN_TEMPLATE,
                           main_vars={"model_name": c_comment(compiled.graph.name if isinstance(model, CompiledModel) else Path(model).name),
                                      "build_id": c_string(build_id),
                                      "model_hash_bytes": [f"0x{b:02x}u" for b in mhash]})
    return DeviceBuild(build=build, model_hash=mhash, build_id=build_id)
