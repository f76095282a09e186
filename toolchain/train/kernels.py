"""The one place that names training kernels: mf_<op>_bwd_<entry>_<dtype>_<isa>.

Lowering asks `kernel(ctx, family, entry)` and never spells a name itself. The dtype comes
from the build's target (f32, or f16 for mixed-precision training); the ISA is the target's
most preferred one for which runtime_c/src defines that kernel, falling back to `ref`, which
always exists. A new SIMD variant is therefore one C file: nothing to register here.
"""

from __future__ import annotations

from toolchain.errors import UnsupportedOpError
from toolchain.ops.base import LowerCtx
from toolchain.ops.kernel_table import available, helper, kernels

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


def defined_kernels() -> frozenset[str]:
    return available()


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


# Output pixels per im2col chunk of the SIMD backward (MF_BWD_COLS_<ISA>, mf_train.h; the two
# agree: tests/test_kernel_table.py).
BWD_COLS = {"ref": 8, "rvv": 16, "mve": 8}


def bwd_cols(isa: str) -> int:
    return BWD_COLS[isa]


# ---------------------------------------------------------------- kernel table
# Scratch of the backward convs is sized by their grad op (grad_ops.py) for every variant.
kernels("mf_act_bwd_input", "act_bwd_{dtype}_ref.c", needs=("act_bwd_f32_ref.c", "elementwise_f32_ref.c"))
kernels("mf_conv2d_bwd_input", "conv_bwd_{dtype}_ref.c")
kernels("mf_conv2d_bwd_weight", "conv_bwd_{dtype}_ref.c")
kernels("mf_conv2d_bwd_input", "conv_bwd_{dtype}_{isa}.c", isas=("rvv", "mve"),
        needs=("conv_bwd_{dtype}_ref.c", "gemm_bwd_{dtype}_ref.c", "gemm_bwd_{dtype}_{isa}.c"))
kernels("mf_conv2d_bwd_weight", "conv_bwd_{dtype}_{isa}.c", isas=("rvv", "mve"),
        needs=("conv_bwd_{dtype}_ref.c", "gemm_bwd_{dtype}_ref.c", "gemm_bwd_{dtype}_{isa}.c"))
kernels("mf_gemm_bwd_input", "gemm_bwd_{dtype}_ref.c")
kernels("mf_gemm_bwd_weight", "gemm_bwd_{dtype}_ref.c")
kernels("mf_gemm_bwd_input", "gemm_bwd_{dtype}_{isa}.c", isas=("rvv", "mve"), needs=("gemm_bwd_{dtype}_ref.c",))
kernels("mf_gemm_bwd_weight", "gemm_bwd_{dtype}_{isa}.c", isas=("rvv", "mve"), needs=("gemm_bwd_{dtype}_ref.c",))
kernels("mf_maxpool2d_bwd_input", "pool_bwd_{dtype}_ref.c")
kernels("mf_avgpool2d_bwd_input", "pool_bwd_{dtype}_ref.c")
kernels("mf_layernorm_bwd_input", "norm_bwd_{dtype}_ref.c")
kernels("mf_layernorm_bwd_weight", "norm_bwd_{dtype}_ref.c")
kernels("mf_softmax_bwd_input", "norm_bwd_{dtype}_ref.c")
kernels("mf_softmax_xent", "loss_bwd_{dtype}_ref.c")
kernels("mf_mse_loss", "loss_bwd_{dtype}_ref.c")
kernels("mf_sgd_update", "optim_bwd_{dtype}_ref.c")
kernels("mf_adam_update", "optim_bwd_{dtype}_ref.c")
helper("mf_loss_scale_update", "optim_bwd_f16_ref.c")  # the mixed-precision step's loss scale
