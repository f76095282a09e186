"""Errors of the build and simulation layer. Each message is meant to be read by a person
who did not write the code: it says what failed, on which board, and what to look at."""

from __future__ import annotations

from toolchain.errors import DoesNotFitError, McuforgeError


class SimError(McuforgeError):
    """Base class: building or running firmware failed."""


class ToolError(SimError):
    """An external tool (compiler, linker, QEMU) failed, hung, or is missing (raised with
    internal=False: the user's machine lacks it)."""

    internal = True


class BudgetError(SimError, DoesNotFitError):
    """The firmware does not fit the board's RAM or flash.

    ``needed`` and ``available`` are per region ("RAM", "FLASH"); ``breakdown`` names the
    parts (arena, stack, code, ...) in bytes. ``str(err)`` is one line per region over budget.
    """

    def __init__(self, message: str, needed: dict[str, int], available: dict[str, int],
                 breakdown: dict[str, dict[str, int]]) -> None:
        super().__init__(message)
        self.needed = needed
        self.available = available
        self.breakdown = breakdown


class RunError(SimError):
    """The firmware ran but its output could not be understood (crash, hang, garbled UART)."""

    internal = True


class RenodeNotInstalled(SimError):
    """No ``renode`` binary on PATH: scripts can be generated but not run."""
