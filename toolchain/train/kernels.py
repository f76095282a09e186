"""The one place that names training kernels: mf_<op>_bwd_<entry>_<dtype>_<isa>.

Lowering asks `kernel(ctx, family, entry)` and never spells a name itself. The dtype comes
from the build's target (f32, or f16 for mixed-precision training); the ISA is the target's
most preferred one for which runtime_c/src defines that kernel, falling back to `ref`, which
always exists. A new SIMD variant is therefore one C file: nothing to register here.
"""

from __future__ import annotations

from toolchain.errors import UnsupportedOpError
from toolchain.ops.base import LowerCtx
from toolchain.ops.kernel_table import Sig, available, helper, kernels

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
# The declarations, in mf_train.h ({t} = the element type). FP16 training keeps FP32 master
# weights and the loss in FP32: its loss and optimizer kernels take the loss scale.
_H = "mf_train.h"
ACT_BWD_SIG = Sig(_H, "const {t} *dy, const {t} *v, {t} *dx, int32_t n, const mf_act *act, int32_t from_output")
CONV_BWD_INPUT_SIG = Sig(_H, "const {t} *dy, const {t} *w, {t} *dx, const mf_conv2d_desc *d")
CONV_BWD_WEIGHT_SIG = Sig(_H, "const {t} *x, const {t} *dy, {t} *dw, {t} *db, const mf_conv2d_desc *d")
GEMM_BWD_INPUT_SIG = Sig(_H, "const {t} *dy, const {t} *w, {t} *dx, const mf_gemm_bwd_input_desc *d")
GEMM_BWD_WEIGHT_SIG = Sig(_H, "const {t} *a, const {t} *dy, {t} *dw, {t} *dc, const mf_gemm_bwd_weight_desc *d")
_SIGS = {
    "mf_maxpool2d_bwd_input": Sig(_H, "const {t} *dy, const {t} *x, {t} *dx, const mf_pool2d_desc *d"),
    "mf_avgpool2d_bwd_input": Sig(_H, "const {t} *dy, {t} *dx, const mf_pool2d_desc *d"),
    "mf_layernorm_bwd_input": Sig(_H, "const {t} *dy, const {t} *x, const {t} *gamma, {t} *dx, const mf_layernorm_desc *d"),
    "mf_layernorm_bwd_weight": Sig(_H, "const {t} *dy, const {t} *x, {t} *dgamma, {t} *dbeta, const mf_layernorm_desc *d"),
    "mf_softmax_bwd_input": Sig(_H, "const {t} *dy, const {t} *y, {t} *dx, const mf_softmax_desc *d"),
    "mf_softmax_xent": {
        "f32": Sig(_H, "const float *logits, const float *labels, float *loss, float *dlogits, const mf_loss_desc *d"),
        "f16": Sig(_H, "const {t} *logits, const float *labels, float *loss, {t} *dlogits, const mf_loss_desc *d, "
                   "const mf_loss_scale *ls")},
    "mf_mse_loss": {
        "f32": Sig(_H, "const float *y, const float *target, float *loss, float *dy, const mf_loss_desc *d"),
        "f16": Sig(_H, "const {t} *y, const float *target, float *loss, {t} *dy, const mf_loss_desc *d, "
                   "const mf_loss_scale *ls")},
    "mf_sgd_update": {
        "f32": Sig(_H, "float *w, const float *g, float *buf, int32_t n, const mf_sgd_desc *d"),
        "f16": Sig(_H, "float *w, const {t} *g, float *buf, {t} *w_half, int32_t n, const mf_sgd_desc *d, mf_loss_scale *ls")},
    "mf_adam_update": {
        "f32": Sig(_H, "float *w, const float *g, float *m, float *v, int32_t n, const mf_adam_desc *d, int32_t step"),
        "f16": Sig(_H, "float *w, const {t} *g, float *m, float *v, {t} *w_half, int32_t n, const mf_adam_desc *d, "
                   "int32_t step, mf_loss_scale *ls")},
}


def _scratch(sig: Sig) -> Sig:
    """The SIMD backward convs take their im2col panel last."""
    return Sig(sig.header, sig.params + ", {t} *scratch")


kernels("mf_act_bwd_input", "act_bwd_{dtype}_ref.c", needs=("act_bwd_f32_ref.c", "elementwise_f32_ref.c"), sig=ACT_BWD_SIG)
kernels("mf_conv2d_bwd_input", "conv_bwd_{dtype}_ref.c", sig=CONV_BWD_INPUT_SIG)
kernels("mf_conv2d_bwd_weight", "conv_bwd_{dtype}_ref.c", sig=CONV_BWD_WEIGHT_SIG)
kernels("mf_conv2d_bwd_input", "conv_bwd_{dtype}_{isa}.c", isas=("rvv", "mve"),
        needs=("conv_bwd_{dtype}_ref.c", "gemm_bwd_{dtype}_ref.c", "gemm_bwd_{dtype}_{isa}.c"), sig=_scratch(CONV_BWD_INPUT_SIG))
kernels("mf_conv2d_bwd_weight", "conv_bwd_{dtype}_{isa}.c", isas=("rvv", "mve"),
        needs=("conv_bwd_{dtype}_ref.c", "gemm_bwd_{dtype}_ref.c", "gemm_bwd_{dtype}_{isa}.c"), sig=_scratch(CONV_BWD_WEIGHT_SIG))
kernels("mf_gemm_bwd_input", "gemm_bwd_{dtype}_ref.c", sig=GEMM_BWD_INPUT_SIG)
kernels("mf_gemm_bwd_weight", "gemm_bwd_{dtype}_ref.c", sig=GEMM_BWD_WEIGHT_SIG)
kernels("mf_gemm_bwd_input", "gemm_bwd_{dtype}_{isa}.c", isas=("rvv", "mve"), needs=("gemm_bwd_{dtype}_ref.c",),
        sig=GEMM_BWD_INPUT_SIG)
kernels("mf_gemm_bwd_weight", "gemm_bwd_{dtype}_{isa}.c", isas=("rvv", "mve"), needs=("gemm_bwd_{dtype}_ref.c",),
        sig=GEMM_BWD_WEIGHT_SIG)
kernels("mf_maxpool2d_bwd_input", "pool_bwd_{dtype}_ref.c", sig=_SIGS["mf_maxpool2d_bwd_input"])
kernels("mf_avgpool2d_bwd_input", "pool_bwd_{dtype}_ref.c", sig=_SIGS["mf_avgpool2d_bwd_input"])
kernels("mf_layernorm_bwd_input", "norm_bwd_{dtype}_ref.c", sig=_SIGS["mf_layernorm_bwd_input"])
kernels("mf_layernorm_bwd_weight", "norm_bwd_{dtype}_ref.c", sig=_SIGS["mf_layernorm_bwd_weight"])
kernels("mf_softmax_bwd_input", "norm_bwd_{dtype}_ref.c", sig=_SIGS["mf_softmax_bwd_input"])
kernels("mf_softmax_xent", "loss_bwd_{dtype}_ref.c", sig=_SIGS["mf_softmax_xent"])
kernels("mf_mse_loss", "loss_bwd_{dtype}_ref.c", sig=_SIGS["mf_mse_loss"])
kernels("mf_sgd_update", "optim_bwd_{dtype}_ref.c", sig=_SIGS["mf_sgd_update"])
kernels("mf_adam_update", "optim_bwd_{dtype}_ref.c", sig=_SIGS["mf_adam_update"])
# the mixed-precision step's loss scale
helper("mf_loss_scale_update", "optim_bwd_f16_ref.c", sig=Sig(_H, "mf_loss_scale *ls"))
