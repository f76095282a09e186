"""Device workflow: build the protocol firmware, flash it, talk to it, validate it.

    build = build_device_firmware("model.onnx", board, "out", target="silicon")
    flash(build.elf, board, "gdb://127.0.0.1:3333")          # or "pyocd", "openocd"
    with Link("socket://127.0.0.1:4444") as link:             # any pyserial URL
        report = validate("model.onnx", DeviceClient(link), count=20)

Layers, bottom up: framing (COBS + CRC-32) -> protocol (commands, replies) -> link
(pyserial) -> client (retries, resync, restarts) -> validate / monitor; gdbremote -> flash;
simdevice (QEMU as a device); commands (click).
"""

from toolchain.device.client import DeviceClient, Inference, LinkStats
from toolchain.device.errors import (
    DeviceError, DeviceRejected, FlashError, LinkError, ProbeNotFound, ProtocolError,
    ValidationError, VerifyMismatch, WrongTarget,
)
from toolchain.device.firmware import DeviceBuild, build_device_firmware, model_hash
from toolchain.device.flashing import FlashReport, flash
from toolchain.device.link import Link
from toolchain.device.monitoring import monitor
from toolchain.device.protocol import DeviceInfo, RunReply
from toolchain.device.simdevice import SimDevice, free_port, start_sim_device
from toolchain.device.validation import ValidationReport, format_report, validate

__all__ = [
    "DeviceBuild", "DeviceClient", "DeviceError", "DeviceInfo", "DeviceRejected", "FlashError",
    "FlashReport", "Inference", "Link", "LinkError", "LinkStats", "ProbeNotFound",
    "ProtocolError", "RunReply", "SimDevice", "ValidationError", "ValidationReport",
    "VerifyMismatch", "WrongTarget", "build_device_firmware", "flash", "format_report",
    "free_port", "model_hash", "monitor", "start_sim_device", "validate",
]
