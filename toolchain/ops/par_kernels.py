"""The fork/join twins of issue 17 in the kernel table: mf_<op>_par_<dtype>_<isa> in
runtime_c/src/par_*.c take the arguments of their one-hart kernel and split its work over the
harts of mf_cluster_fork (runtime_c/board/mf_cluster_*.c, linked by the cluster board's
harness). codegen/parallel.py swaps them in for a build on several harts."""

from __future__ import annotations

from toolchain.ops.conv import CONV_SCRATCH_SIG, OVERWRITE_SIG, RESIDUAL_SIG
from toolchain.ops.elementwise import ACT_BWD_SIG, BINARY_SIG
from toolchain.ops.gemm import GEMM_SIG
from toolchain.ops.kernel_table import Sig, kernels
from toolchain.ops.movement import COPY_SIG
from toolchain.ops.norm import LAYERNORM_SIG, SOFTMAX_SIG
from toolchain.ops.pool import POOL_SIG

# a twin is declared in mf_par.h with its one-hart kernel's parameters
_H = "mf_par.h"

_CONV_F32 = ("conv_f32_dsp.c", "conv_im2col_f32_ref.c", "gemm_f32_dsp.c", "conv_overwrite_f32_dsp.c",
             "conv_residual_f32_dsp.c", "conv_residual_f32_ref.c", "conv_overwrite_f32_ref.c", "elementwise_f32_ref.c")
kernels("mf_conv2d_par", "par_conv_f32.c", ("f32",), ("dsp",), _CONV_F32, sig=CONV_SCRATCH_SIG.at(_H))
kernels("mf_conv2d_overwrite_par", "par_conv_f32.c", ("f32",), ("dsp",), _CONV_F32, sig=OVERWRITE_SIG.at(_H))
kernels("mf_conv2d_residual_par", "par_conv_f32.c", ("f32",), ("dsp",), _CONV_F32, sig=RESIDUAL_SIG.at(_H))
# the RVV FP32 convs of issue 19 (conv_f32_rvv.c, depthwise_f32_rvv.c) and their drivers
_CONV_F32_RVV = ("conv_f32_rvv.c", "depthwise_f32_rvv.c", "gemm_f32_rvv.c", "conv_im2col_f32_ref.c",
                 "conv_residual_f32_ref.c", "conv_overwrite_f32_ref.c", "elementwise_f32_ref.c")
for _k, _sig in (("mf_conv2d_par", CONV_SCRATCH_SIG), ("mf_conv2d_overwrite_par", OVERWRITE_SIG),
                 ("mf_conv2d_residual_par", RESIDUAL_SIG), ("mf_depthwise_par", CONV_SCRATCH_SIG)):
    kernels(_k, "par_conv_f32.c", ("f32",), ("rvv",), _CONV_F32_RVV, sig=_sig.at(_H))
_CONV_F16 = ("conv_f16_rvv.c", "conv_im2col_f16_ref.c", "gemm_f16_rvv.c", "conv_overwrite_f16_ref.c",
             "conv_f16_ref.c", "elementwise_f32_ref.c")
kernels("mf_conv2d_par", "par_conv_f16.c", ("f16",), ("rvv",), _CONV_F16, sig=CONV_SCRATCH_SIG.at(_H))
kernels("mf_conv2d_overwrite_par", "par_conv_f16.c", ("f16",), ("ref",), _CONV_F16, sig=OVERWRITE_SIG.at(_H))
kernels("mf_binary_par", "par_elementwise.c", ("f32", "f16"), ("ref",), ("elementwise_{dtype}_ref.c",),
        sig=BINARY_SIG.at(_H))
kernels("mf_avgpool2d_par", "par_pool.c", ("f32", "f16"), ("ref",), ("pool_{dtype}_ref.c",), sig=POOL_SIG.at(_H))
kernels("mf_maxpool2d_par", "par_pool.c", ("f32", "f16"), ("ref",), ("pool_{dtype}_ref.c",), sig=POOL_SIG.at(_H))
kernels("mf_copy_par", "par_copy.c", ("f32", "f16"), ("ref",), ("copy_{dtype}_ref.c",), sig=COPY_SIG.at(_H))
# matmul / linear by batches, rows or columns (par_gemm.c); softmax and LayerNorm by rows (par_norm.c)
kernels("mf_gemm_par", "par_gemm.c", ("f32", "f16"), ("ref",), ("gemm_{dtype}_ref.c", "elementwise_f32_ref.c"),
        sig=GEMM_SIG.at(_H))
kernels("mf_gemm_par", "par_gemm.c", ("f32",), ("rvv",), ("gemm_f32_rvv.c", "gemm_by_panel_f32.c"), sig=GEMM_SIG.at(_H))
kernels("mf_gemm_par", "par_gemm.c", ("f16",), ("rvv",), ("gemm_f16_rvv.c", "gemm_f16_ref.c"), sig=GEMM_SIG.at(_H))
kernels("mf_softmax_par", "par_norm.c", ("f32", "f16"), ("ref",), ("norm_{dtype}_ref.c",), sig=SOFTMAX_SIG.at(_H))
kernels("mf_layernorm_par", "par_norm.c", ("f32", "f16"), ("ref",), ("norm_{dtype}_ref.c",), sig=LAYERNORM_SIG.at(_H))
kernels("mf_softmax_par", "par_norm.c", ("f16",), ("rvv",), ("norm_f16_rvv.c", "norm_f16_ref.c", "elementwise_f16_ref.c"),
        sig=SOFTMAX_SIG.at(_H))
kernels("mf_layernorm_par", "par_norm.c", ("f16",), ("rvv",), ("norm_f16_rvv.c", "norm_f16_ref.c", "elementwise_f16_ref.c"),
        sig=LAYERNORM_SIG.at(_H))
# the training step's twins (par_train.c; pooling backward in par_pool.c)
kernels("mf_avgpool2d_bwd_input_par", "par_pool.c", ("f32", "f16"), ("ref",), ("pool_{dtype}_ref.c", "pool_bwd_{dtype}_ref.c"),
        sig=Sig(_H, "const {t} *dy, {t} *dx, const mf_pool2d_desc *d"))
kernels("mf_maxpool2d_bwd_input_par", "par_pool.c", ("f32", "f16"), ("ref",), ("pool_{dtype}_ref.c", "pool_bwd_{dtype}_ref.c"),
        sig=Sig(_H, "const {t} *dy, const {t} *x, {t} *dx, const mf_pool2d_desc *d"))
kernels("mf_act_bwd_input_par", "par_train.c", ("f32",), ("ref",), ("act_bwd_f32_ref.c", "elementwise_f32_ref.c"),
        sig=Sig(_H, "const float *dy, const float *v, float *dx, int32_t n, const mf_act *act, int32_t from_output"))
kernels("mf_sgd_update_par", "par_train.c", ("f32",), ("ref",), ("optim_bwd_f32_ref.c",),
        sig=Sig(_H, "float *w, const float *g, float *buf, int32_t n, const mf_sgd_desc *d"))
_BWD_W = Sig(_H, "const {t} *x, const {t} *dy, {t} *dw, {t} *db, const mf_conv2d_desc *d, {t} *scratch")
_BWD_X = Sig(_H, "const {t} *dy, const {t} *w, {t} *dx, const mf_conv2d_desc *d, {t} *scratch")
_CONV_BWD_RVV = ("conv_bwd_f32_rvv.c", "conv_bwd_f32_ref.c", "gemm_bwd_f32_ref.c", "gemm_bwd_f32_rvv.c")
kernels("mf_conv2d_bwd_weight_par", "par_train.c", ("f32",), ("rvv",), _CONV_BWD_RVV, sig=_BWD_W)
kernels("mf_conv2d_bwd_input_par", "par_train.c", ("f32",), ("rvv",), _CONV_BWD_RVV, sig=_BWD_X)
kernels("mf_adam_update_par", "par_train.c", ("f32",), ("ref",), ("optim_bwd_f32_ref.c",),
        sig=Sig(_H, "float *w, const float *g, float *m, float *v, int32_t n, const mf_adam_desc *d, int32_t step"))
# FP16 (mixed-precision) training (par_train_f16.c)
kernels("mf_act_bwd_input_par", "par_train_f16.c", ("f16",), ("ref",), ("act_bwd_f16_ref.c", "act_bwd_f32_ref.c",
                                                                     "elementwise_f32_ref.c"), sig=ACT_BWD_SIG.at(_H))
kernels("mf_sgd_update_par", "par_train_f16.c", ("f16",), ("ref",), ("optim_bwd_f16_ref.c",),
        sig=Sig(_H, "float *w, const {t} *g, float *buf, {t} *w_half, int32_t n, const mf_sgd_desc *d, mf_loss_scale *ls"))
kernels("mf_adam_update_par", "par_train_f16.c", ("f16",), ("ref",), ("optim_bwd_f16_ref.c",),
        sig=Sig(_H, "float *w, const {t} *g, float *m, float *v, {t} *w_half, int32_t n, const mf_adam_desc *d, "
                "int32_t step, mf_loss_scale *ls"))
_CONV_BWD_F16 = ("conv_bwd_f16_rvv.c", "conv_bwd_f16_ref.c", "gemm_bwd_f16_ref.c", "gemm_bwd_f16_rvv.c")
kernels("mf_conv2d_bwd_weight_par", "par_train_f16.c", ("f16",), ("rvv",), _CONV_BWD_F16, sig=_BWD_W)
kernels("mf_conv2d_bwd_input_par", "par_train_f16.c", ("f16",), ("rvv",), _CONV_BWD_F16, sig=_BWD_X)
