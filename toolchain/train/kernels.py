"""The one place that names training kernels: mf_<op>_bwd_<entry>_<dtype>_<isa>.

Lowering asks `kernel(ctx, family, entry)` and never spells a name itself. The dtype comes
from the build's target (f32, or f16 for mixed-precision training); the ISA is the target's
most preferred one for which runtime_c/src defines that kernel, falling back to `ref`, which
always exists. A new SIMD variant is therefore one C file: nothing to register here.
"""

from __future__ import annotations

import functools
import re

from toolchain.errors import UnsupportedOpError
from toolchain.resources import RUNTIME_DIR
from toolchain.ops.base import LowerCtx

# (family, entry) -> base name without dtype and isa
_BASE = {
    ("act", "bwd_input"): "mf_act_bwd_input",
    ("conv", "bwd_input"): "mf_conv2d_bwd_input",
    ("conv", "bwd_weight"): "mf_conv2d_bwd_weight",
    ("gemm", "bwd_input"): "mf_gemm_bwd_input",
    ("gemm", "bwd_weight"): "mf_gemm_bwd_weight",
    ("maxpool", "bwd_input"): "mf_maxpool2d_bwd_input",
    ("avgpool", "bwd_input"): "mf_avgpool2d_bwd_input",
    ("layernorm", "bwd_input"): "mf_layernorm_bwd_input",
    ("layernorm", "bwd_weight"): "mf_layernorm_bwd_weight",
    ("softmax", "bwd_input"): "mf_softmax_bwd_input",
    ("loss", "xent"): "mf_softmax_xent",
    ("loss", "mse"): "mf_mse_loss",
    ("optim", "sgd"): "mf_sgd_update",
    ("optim", "adam"): "mf_adam_update",
}


@functools.lru_cache(maxsize=1)
def defined_kernels() -> frozenset[str]:
    from toolchain.codegen.emit import kernel_sources

    return frozenset(kernel_sources())


def kernel(ctx: LowerCtx, family: str, entry: str) -> str:
    """The kernel for this target: its dtype, its best ISA that has the kernel, else ref."""
    base = _BASE[(family, entry)]
    have = ctx.available if ctx.available is not None else defined_kernels()
    for isa in ctx.target.isas + ("ref",):
        name = f"{base}_{ctx.target.dtype}_{isa}"
        if name in have:
            return name
    raise UnsupportedOpError(f"no training kernel {base}_{ctx.target.dtype}_* in runtime_c/src")


def isa_of(name: str) -> str:
    return name.rsplit("_", 1)[-1]


MF_TRAIN_H = RUNTIME_DIR / "include" / "mf_train.h"


@functools.lru_cache(maxsize=None)
def _cols_table() -> dict[str, int]:
    return {m.group(1).lower(): int(m.group(2))
            for m in re.finditer(r"#define MF_BWD_COLS_(\w+) (\d+)", MF_TRAIN_H.read_text())}


def bwd_cols(isa: str) -> int:
    """Output pixels per im2col chunk of the SIMD backward (MF_BWD_COLS_<ISA>, mf_train.h)."""
    return _cols_table()[isa]
