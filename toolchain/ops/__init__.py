"""Op families. Importing this package registers every family in REGISTRY."""

from toolchain.ops import cast, conv, einsum, elementwise, gemm, movement, norm, pool, reduce, shape, transformer  # noqa: F401
from toolchain.ops import qboundary, qconv, qelementwise, qpool, qsoftmax, qtransformer  # noqa: F401  (int8)
from toolchain.ops import qattention  # noqa: F401  (fused int8 attention, issue 15)
from toolchain.ops import int8_kernels  # noqa: F401  (the SIMD int8 kernels' table entries)
from toolchain.ops import par_kernels  # noqa: F401  (the fork/join twins, issue 17)
from toolchain.ops import stream  # noqa: F401  (streamed first op, mf_model_run_rows)
from toolchain.ops import patch  # noqa: F401  (patch-based first stages, MCUNetV2)
from toolchain.ops.base import REGISTRY, Op

__all__ = ["REGISTRY", "Op"]
