"""The fork/join twins of issue 17 in the kernel table: mf_<op>_par_<dtype>_<isa> in
runtime_c/src/par_*.c take the arguments of their one-hart kernel and split its work over the
harts of mf_cluster_fork (runtime_c/board/mf_cluster_*.c, linked by the cluster board's
harness). codegen/parallel.py swaps them in for a build on several harts."""

from __future__ import annotations

from toolchain.ops.conv import CONV_SCRATCH_SIG, OVERWRITE_SIG, RESIDUAL_SIG
from toolchain.ops.elementwise import BINARY_SIG
from toolchain.ops.kernel_table import Sig, kernels
from toolchain.ops.pool import POOL_SIG

# a twin is declared in mf_par.h with its one-hart kernel's parameters
_H = "mf_par.h"

_CONV_F32 = ("conv_f32_dsp.c", "conv_im2col_f32_ref.c", "gemm_f32_dsp.c", "conv_overwrite_f32_dsp.c",
             "conv_residual_f32_dsp.c", "conv_residual_f32_ref.c", "conv_overwrite_f32_ref.c", "elementwise_f32_ref.c")
kernels("mf_conv2d_par", "par_conv_f32.c", ("f32",), ("dsp",), _CONV_F32, sig=CONV_SCRATCH_SIG.at(_H))
kernels("mf_conv2d_overwrite_par", "par_conv_f32.c", ("f32",), ("dsp",), _CONV_F32, sig=OVERWRITE_SIG.at(_H))
kernels("mf_conv2d_residual_par", "par_conv_f32.c", ("f32",), ("dsp",), _CONV_F32, sig=RESIDUAL_SIG.at(_H))
_CONV_F16 = ("conv_f16_rvv.c", "conv_im2col_f16_ref.c", "gemm_f16_rvv.c", "conv_overwrite_f16_ref.c",
             "conv_f16_ref.c", "elementwise_f32_ref.c")
kernels("mf_conv2d_par", "par_conv_f16.c", ("f16",), ("rvv",), _CONV_F16, sig=CONV_SCRATCH_SIG.at(_H))
kernels("mf_conv2d_overwrite_par", "par_conv_f16.c", ("f16",), ("ref",), _CONV_F16, sig=OVERWRITE_SIG.at(_H))
kernels("mf_binary_par", "par_elementwise.c", ("f32", "f16"), ("ref",), ("elementwise_{dtype}_ref.c",),
        sig=BINARY_SIG.at(_H))
kernels("mf_avgpool2d_par", "par_pool.c", ("f32", "f16"), ("ref",), ("pool_{dtype}_ref.c",), sig=POOL_SIG.at(_H))
kernels("mf_maxpool2d_par", "par_pool.c", ("f32", "f16"), ("ref",), ("pool_{dtype}_ref.c",), sig=POOL_SIG.at(_H))
# the training step's twins (par_train.c)
kernels("mf_act_bwd_input_par", "par_train.c", ("f32",), ("ref",), ("act_bwd_f32_ref.c", "elementwise_f32_ref.c"),
        sig=Sig(_H, "const float *dy, const float *v, float *dx, int32_t n, const mf_act *act, int32_t from_output"))
kernels("mf_sgd_update_par", "par_train.c", ("f32",), ("ref",), ("optim_bwd_f32_ref.c",),
        sig=Sig(_H, "float *w, const float *g, float *buf, int32_t n, const mf_sgd_desc *d"))
kernels("mf_conv2d_bwd_weight_par", "par_train.c", ("f32",), ("rvv",), ("conv_bwd_f32_rvv.c", "conv_bwd_f32_ref.c"),
        sig=Sig(_H, "const float *x, const float *dy, float *dw, float *db, const mf_conv2d_desc *d, float *scratch"))
