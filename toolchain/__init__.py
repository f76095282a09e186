"""mcuforge: ONNX to memory-scheduled C for microcontrollers."""

__version__ = "0.1.0"
