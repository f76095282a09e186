"""ONNX -> IR."""

from toolchain.frontend.onnx_loader import import_model, load_onnx, parse_input_shapes, read_model

__all__ = ["import_model", "load_onnx", "parse_input_shapes", "read_model"]
