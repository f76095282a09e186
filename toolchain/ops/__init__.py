"""Op families. Importing this package registers every family in REGISTRY."""

from toolchain.ops import cast, conv, elementwise, gemm, movement, norm, pool, reduce, shape, transformer  # noqa: F401
from toolchain.ops.base import REGISTRY, Op

__all__ = ["REGISTRY", "Op"]
