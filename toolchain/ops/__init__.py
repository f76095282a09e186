"""Op families. Importing this package registers every family in REGISTRY."""

from toolchain.ops import cast, conv, einsum, elementwise, gemm, movement, norm, pool, reduce, shape, transformer  # noqa: F401
from toolchain.ops import qboundary, qconv, qelementwise, qpool, qsoftmax  # noqa: F401  (int8)
from toolchain.ops.base import REGISTRY, Op

__all__ = ["REGISTRY", "Op"]
