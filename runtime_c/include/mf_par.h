/* Parallel twins of kernels, for a cluster of harts (mf_cluster.h; runtime_c/src/par_*.c).
 *
 * mf_<op>_par_<dtype>_<isa> takes the arguments of mf_<op>_<dtype>_<isa> and returns its
 * result bit for bit, with the work forked over mf_cluster_harts() harts. Where the plain
 * kernel takes scratch, the twin takes harts copies of the plain size back to back (hart h
 * uses copy h), so no two harts share scratch; except the twins that share one copy between
 * the harts (toolchain/codegen/parallel.py SHARED_SCRATCH, SHARED_PANEL). */
#ifndef MF_PAR_H
#define MF_PAR_H

#include "mf_conv.h"
#include "mf_copy.h"
#include "mf_elementwise.h"
#include "mf_gemm.h"
#include "mf_norm.h"
#include "mf_pool.h"
#include "mf_train.h"
#include "mf_types.h"

/* The twins of the convolutions (par_conv_<dtype>.c), pooling (par_pool.c), binary ops
 * (par_elementwise.c) and training steps (par_train.c), declared from the kernel table. */
/* PROTOS_BEGIN: generated from toolchain/ops/kernel_table.py by `make protos`; do not edit */
int mf_act_bwd_input_par_f32_ref(const float *dy, const float *v, float *dx, int32_t n,
                                 const mf_act *act, int32_t from_output);
int mf_adam_update_par_f32_ref(float *w, const float *g, float *m, float *v, int32_t n,
                               const mf_adam_desc *d, int32_t step);
int mf_avgpool2d_bwd_input_par_f32_ref(const float *dy, float *dx, const mf_pool2d_desc *d);
int mf_avgpool2d_par_f32_ref(const float *x, float *y, const mf_pool2d_desc *d);
int mf_binary_par_f32_ref(const float *a, const float *b, float *y, const mf_binary_desc *d);
int mf_conv2d_bwd_input_par_f32_rvv(const float *dy, const float *w, float *dx,
                                    const mf_conv2d_desc *d, float *scratch);
int mf_conv2d_bwd_weight_par_f32_rvv(const float *x, const float *dy, float *dw, float *db,
                                     const mf_conv2d_desc *d, float *scratch);
int mf_conv2d_overwrite_par_f32_dsp(const float *x, const float *w, const float *bias, float *y,
                                    float *scratch, const mf_conv2d_desc *d);
int mf_conv2d_overwrite_par_f32_rvv(const float *x, const float *w, const float *bias, float *y,
                                    float *scratch, const mf_conv2d_desc *d);
int mf_conv2d_par_f32_dsp(const float *x, const float *w, const float *bias, float *y,
                          const mf_conv2d_desc *d, float *scratch);
int mf_conv2d_par_f32_rvv(const float *x, const float *w, const float *bias, float *y,
                          const mf_conv2d_desc *d, float *scratch);
int mf_conv2d_residual_par_f32_dsp(const float *x, const float *w, const float *bias,
                                   const float *skip, float *y, float *scratch,
                                   const mf_conv2d_desc *d);
int mf_conv2d_residual_par_f32_rvv(const float *x, const float *w, const float *bias,
                                   const float *skip, float *y, float *scratch,
                                   const mf_conv2d_desc *d);
int mf_copy_par_f32_ref(const float *x, float *y, const mf_copy_desc *d);
int mf_depthwise_par_f32_rvv(const float *x, const float *w, const float *bias, float *y,
                             const mf_conv2d_desc *d, float *scratch);
int mf_gemm_par_f32_ref(const float *a, const float *b, const float *c, float *y,
                        const mf_gemm_desc *d);
int mf_gemm_par_f32_rvv(const float *a, const float *b, const float *c, float *y,
                        const mf_gemm_desc *d);
int mf_layernorm_par_f32_ref(const float *x, const float *gamma, const float *beta, float *y,
                             float *mean_out, float *rstd_out, const mf_layernorm_desc *d);
int mf_maxpool2d_bwd_input_par_f32_ref(const float *dy, const float *x, float *dx,
                                       const mf_pool2d_desc *d);
int mf_maxpool2d_par_f32_ref(const float *x, float *y, const mf_pool2d_desc *d);
int mf_sgd_update_par_f32_ref(float *w, const float *g, float *buf, int32_t n,
                              const mf_sgd_desc *d);
int mf_softmax_par_f32_ref(const float *x, float *y, const mf_softmax_desc *d);
#if defined(__FLT16_MAX__)
int mf_act_bwd_input_par_f16_ref(const mf_f16 *dy, const mf_f16 *v, mf_f16 *dx, int32_t n,
                                 const mf_act *act, int32_t from_output);
int mf_adam_update_par_f16_ref(float *w, const mf_f16 *g, float *m, float *v, mf_f16 *w_half,
                               int32_t n, const mf_adam_desc *d, int32_t step, mf_loss_scale *ls);
int mf_avgpool2d_bwd_input_par_f16_ref(const mf_f16 *dy, mf_f16 *dx, const mf_pool2d_desc *d);
int mf_avgpool2d_par_f16_ref(const mf_f16 *x, mf_f16 *y, const mf_pool2d_desc *d);
int mf_binary_par_f16_ref(const mf_f16 *a, const mf_f16 *b, mf_f16 *y, const mf_binary_desc *d);
int mf_conv2d_bwd_input_par_f16_rvv(const mf_f16 *dy, const mf_f16 *w, mf_f16 *dx,
                                    const mf_conv2d_desc *d, mf_f16 *scratch);
int mf_conv2d_bwd_weight_par_f16_rvv(const mf_f16 *x, const mf_f16 *dy, mf_f16 *dw, mf_f16 *db,
                                     const mf_conv2d_desc *d, mf_f16 *scratch);
int mf_conv2d_overwrite_par_f16_ref(const mf_f16 *x, const mf_f16 *w, const mf_f16 *bias, mf_f16 *y,
                                    mf_f16 *scratch, const mf_conv2d_desc *d);
int mf_conv2d_par_f16_rvv(const mf_f16 *x, const mf_f16 *w, const mf_f16 *bias, mf_f16 *y,
                          const mf_conv2d_desc *d, mf_f16 *scratch);
int mf_copy_par_f16_ref(const mf_f16 *x, mf_f16 *y, const mf_copy_desc *d);
int mf_gemm_par_f16_ref(const mf_f16 *a, const mf_f16 *b, const mf_f16 *c, mf_f16 *y,
                        const mf_gemm_desc *d);
int mf_gemm_par_f16_rvv(const mf_f16 *a, const mf_f16 *b, const mf_f16 *c, mf_f16 *y,
                        const mf_gemm_desc *d);
int mf_layernorm_par_f16_ref(const mf_f16 *x, const mf_f16 *gamma, const mf_f16 *beta, mf_f16 *y,
                             mf_f16 *mean_out, mf_f16 *rstd_out, const mf_layernorm_desc *d);
int mf_layernorm_par_f16_rvv(const mf_f16 *x, const mf_f16 *gamma, const mf_f16 *beta, mf_f16 *y,
                             mf_f16 *mean_out, mf_f16 *rstd_out, const mf_layernorm_desc *d);
int mf_maxpool2d_bwd_input_par_f16_ref(const mf_f16 *dy, const mf_f16 *x, mf_f16 *dx,
                                       const mf_pool2d_desc *d);
int mf_maxpool2d_par_f16_ref(const mf_f16 *x, mf_f16 *y, const mf_pool2d_desc *d);
int mf_sgd_update_par_f16_ref(float *w, const mf_f16 *g, float *buf, mf_f16 *w_half, int32_t n,
                              const mf_sgd_desc *d, mf_loss_scale *ls);
int mf_softmax_par_f16_ref(const mf_f16 *x, mf_f16 *y, const mf_softmax_desc *d);
int mf_softmax_par_f16_rvv(const mf_f16 *x, mf_f16 *y, const mf_softmax_desc *d);
#endif
/* PROTOS_END */

#endif
