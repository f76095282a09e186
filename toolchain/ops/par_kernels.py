"""The fork/join twins of issue 17 in the kernel table: mf_<op>_par_<dtype>_<isa> in
runtime_c/src/par_*.c take the arguments of their one-hart kernel and split its work over the
harts of mf_cluster_fork (runtime_c/board/mf_cluster_*.c, linked by the cluster board's
harness). codegen/parallel.py swaps them in for a build on several harts."""

from __future__ import annotations

from toolchain.ops.kernel_table import kernels

_CONV_F32 = ("conv_f32_dsp.c", "conv_im2col_f32_ref.c", "gemm_f32_dsp.c", "conv_overwrite_f32_dsp.c",
             "conv_residual_f32_dsp.c", "conv_residual_f32_ref.c", "conv_overwrite_f32_ref.c", "elementwise_f32_ref.c")
kernels("mf_conv2d_par", "par_conv_f32.c", ("f32",), ("dsp",), _CONV_F32)
kernels("mf_conv2d_overwrite_par", "par_conv_f32.c", ("f32",), ("dsp",), _CONV_F32)
kernels("mf_conv2d_residual_par", "par_conv_f32.c", ("f32",), ("dsp",), _CONV_F32)
# the RVV FP32 convs of issue 19 (conv_f32_rvv.c, depthwise_f32_rvv.c) and their drivers
_CONV_F32_RVV = ("conv_f32_rvv.c", "depthwise_f32_rvv.c", "gemm_f32_rvv.c", "conv_im2col_f32_ref.c",
                 "conv_residual_f32_ref.c", "conv_overwrite_f32_ref.c", "elementwise_f32_ref.c")
for _k in ("mf_conv2d_par", "mf_conv2d_overwrite_par", "mf_conv2d_residual_par", "mf_depthwise_par"):
    kernels(_k, "par_conv_f32.c", ("f32",), ("rvv",), _CONV_F32_RVV)
_CONV_F16 = ("conv_f16_rvv.c", "conv_im2col_f16_ref.c", "gemm_f16_rvv.c", "conv_overwrite_f16_ref.c",
             "conv_f16_ref.c", "elementwise_f32_ref.c")
kernels("mf_conv2d_par", "par_conv_f16.c", ("f16",), ("rvv",), _CONV_F16)
kernels("mf_conv2d_overwrite_par", "par_conv_f16.c", ("f16",), ("ref",), _CONV_F16)
kernels("mf_copy_par", "par_copy.c", ("f32", "f16"), ("ref",), ("copy_{dtype}_ref.c",))
kernels("mf_binary_par", "par_elementwise.c", ("f32", "f16"), ("ref",), ("elementwise_{dtype}_ref.c",))
kernels("mf_avgpool2d_par", "par_pool.c", ("f32", "f16"), ("ref",), ("pool_{dtype}_ref.c",))
kernels("mf_maxpool2d_par", "par_pool.c", ("f32", "f16"), ("ref",), ("pool_{dtype}_ref.c",))
# matmul / linear by batches, rows or columns (par_gemm.c); softmax and LayerNorm by rows (par_norm.c)
kernels("mf_gemm_par", "par_gemm.c", ("f32", "f16"), ("ref",), ("gemm_{dtype}_ref.c", "elementwise_f32_ref.c"))
kernels("mf_gemm_par", "par_gemm.c", ("f32",), ("rvv",), ("gemm_f32_rvv.c", "gemm_by_panel_f32.c"))
kernels("mf_gemm_par", "par_gemm.c", ("f16",), ("rvv",), ("gemm_f16_rvv.c", "gemm_f16_ref.c"))
kernels("mf_softmax_par", "par_norm.c", ("f32", "f16"), ("ref",), ("norm_{dtype}_ref.c",))
kernels("mf_layernorm_par", "par_norm.c", ("f32", "f16"), ("ref",), ("norm_{dtype}_ref.c",))
kernels("mf_softmax_par", "par_norm.c", ("f16",), ("rvv",), ("norm_f16_rvv.c", "norm_f16_ref.c", "elementwise_f16_ref.c"))
kernels("mf_layernorm_par", "par_norm.c", ("f16",), ("rvv",), ("norm_f16_rvv.c", "norm_f16_ref.c", "elementwise_f16_ref.c"))
# the training step's twins (par_train.c; pooling backward in par_pool.c)
kernels("mf_avgpool2d_bwd_input_par", "par_pool.c", ("f32", "f16"), ("ref",), ("pool_{dtype}_ref.c", "pool_bwd_{dtype}_ref.c"))
kernels("mf_maxpool2d_bwd_input_par", "par_pool.c", ("f32", "f16"), ("ref",), ("pool_{dtype}_ref.c", "pool_bwd_{dtype}_ref.c"))
kernels("mf_act_bwd_input_par", "par_train.c", ("f32",), ("ref",), ("act_bwd_f32_ref.c", "elementwise_f32_ref.c"))
kernels("mf_sgd_update_par", "par_train.c", ("f32",), ("ref",), ("optim_bwd_f32_ref.c",))
_CONV_BWD_RVV = ("conv_bwd_f32_rvv.c", "conv_bwd_f32_ref.c", "gemm_bwd_f32_ref.c", "gemm_bwd_f32_rvv.c")
kernels("mf_conv2d_bwd_weight_par", "par_train.c", ("f32",), ("rvv",), _CONV_BWD_RVV)
kernels("mf_adam_update_par", "par_train.c", ("f32",), ("ref",), ("optim_bwd_f32_ref.c",))
kernels("mf_conv2d_bwd_input_par", "par_train.c", ("f32",), ("rvv",), _CONV_BWD_RVV)
# FP16 (mixed-precision) training (par_train_f16.c)
kernels("mf_act_bwd_input_par", "par_train_f16.c", ("f16",), ("ref",), ("act_bwd_f16_ref.c", "act_bwd_f32_ref.c",
                                                                     "elementwise_f32_ref.c"))
kernels("mf_sgd_update_par", "par_train_f16.c", ("f16",), ("ref",), ("optim_bwd_f16_ref.c",))
kernels("mf_adam_update_par", "par_train_f16.c", ("f16",), ("ref",), ("optim_bwd_f16_ref.c",))
_CONV_BWD_F16 = ("conv_bwd_f16_rvv.c", "conv_bwd_f16_ref.c", "gemm_bwd_f16_ref.c", "gemm_bwd_f16_rvv.c")
kernels("mf_conv2d_bwd_weight_par", "par_train_f16.c", ("f16",), ("rvv",), _CONV_BWD_F16)
kernels("mf_conv2d_bwd_input_par", "par_train_f16.c", ("f16",), ("rvv",), _CONV_BWD_F16)
