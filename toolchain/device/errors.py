"""Errors of the device layer. Each one is a single line saying what failed, where, and
what to try; the CLI prints it as is (they derive from McuforgeError)."""

from __future__ import annotations

from toolchain.errors import McuforgeError


class DeviceError(McuforgeError):
    """Base class: talking to, flashing or validating a device failed."""


class LinkError(DeviceError):
    """The serial link cannot be opened, or dropped and could not be reopened."""


class ProtocolError(DeviceError):
    """No valid answer after the allowed retries (timeouts, bad CRCs, a device that resets)."""


class DeviceRejected(DeviceError):
    """The device answered with an error frame (the code and its detail are in the message)."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


class FlashError(DeviceError):
    """Programming failed: no probe, wrong target, verify mismatch, tool missing."""


class ProbeNotFound(FlashError):
    """No debug probe or GDB server answered."""


class WrongTarget(FlashError):
    """The connected chip or GDB stub is not the one the firmware was built for."""


class VerifyMismatch(FlashError):
    """Memory read back after programming differs from the image."""


class ValidationError(DeviceError):
    """Inputs or the device's model do not fit what validation was asked to compare."""
