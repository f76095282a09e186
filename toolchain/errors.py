"""User-facing errors: every one ends in a single clear line and a non-zero exit in the CLI."""


class McuforgeError(Exception):
    """A mistake in the user's input (model, shapes, board, flags), not a bug in mcuforge.

    Subclasses for failures of mcuforge's own output (a compiler rejecting generated C, a
    firmware crash) set ``internal``: the CLI then says "internal error" and keeps the
    full text in a log file instead of printing it."""

    internal: bool = False

    def __init__(self, *args: object, internal: bool | None = None) -> None:
        super().__init__(*args)
        if internal is not None:
            self.internal = internal


class ModelLoadError(McuforgeError):
    """The file is not a readable, valid ONNX model."""


class UnsupportedOpError(McuforgeError):
    """An ONNX node uses an op (or an attribute value) that mcuforge cannot compile."""


class ShapeError(McuforgeError):
    """A shape cannot be bound or is inconsistent."""


class DoesNotFitError(McuforgeError):
    """A model does not fit a board's RAM or flash budget."""
