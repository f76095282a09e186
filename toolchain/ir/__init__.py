"""The intermediate representation: Graph, Node, Tensor, DType, and a verifier."""

from toolchain.ir.graph import DType, Graph, Node, Tensor
from toolchain.ir.verify import verify_graph

__all__ = ["DType", "Graph", "Node", "Tensor", "verify_graph"]
