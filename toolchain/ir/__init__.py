"""The intermediate representation: Graph, Node, Tensor, DType, and a verifier."""

from toolchain.ir.graph import DType, Graph, Node, QuantInfo, Tensor
from toolchain.ir.verify import verify_graph

__all__ = ["DType", "Graph", "Node", "QuantInfo", "Tensor", "verify_graph"]
