/* Normalisation and softmax: rows of `cols` contiguous elements. */
#ifndef MF_NORM_H
#define MF_NORM_H

#include "mf_types.h"

/* Softmax over the axis of length `axis_len` for each (outer, inner) pair:
 * x[o * axis_len * inner + a * inner + i]. y may equal x. */
typedef struct {
    int32_t outer, axis_len, inner;
    int32_t log; /* LogSoftmax */
} mf_softmax_desc;

/* y = (x - mean) / sqrt(var + eps) * gamma + beta over each row; gamma/beta may be NULL.
 * mean_out / rstd_out (one value per row, may be NULL) receive the row's mean and
 * 1/sqrt(var + eps): LayerNormalization's optional outputs and what a backward pass saves.
 * y may equal x. */
typedef struct {
    int32_t rows, cols;
    float eps;
} mf_layernorm_desc;

/* The FP16 SIMD LayerNorm and Softmax (norm_f16_<rvv|mve>.c, also used inside the
 * transformer kernels) take non-contiguous softmax axes through the reference. */
/* Training. */
/* mf_layernorm_bwd_input/_bwd_weight: mean and 1/std are recomputed from x (costs compute, saves 2 floats per row
 * of RAM between forward and backward). gamma may be NULL (= 1). */
/* mf_softmax_bwd_input: Softmax (log = 0) or LogSoftmax (log = 1) from its output y. dx may equal dy. */
/* PROTOS_BEGIN: generated from toolchain/ops/kernel_table.py by `make protos`; do not edit */
int mf_layernorm_bwd_input_f32_ref(const float *dy, const float *x, const float *gamma, float *dx,
                                   const mf_layernorm_desc *d);
int mf_layernorm_bwd_weight_f32_ref(const float *dy, const float *x, float *dgamma, float *dbeta,
                                    const mf_layernorm_desc *d);
int mf_layernorm_f32_dsp(const float *x, const float *gamma, const float *beta, float *y,
                         float *mean_out, float *rstd_out, const mf_layernorm_desc *d);
int mf_layernorm_f32_ref(const float *x, const float *gamma, const float *beta, float *y,
                         float *mean_out, float *rstd_out, const mf_layernorm_desc *d);
int mf_softmax_bwd_input_f32_ref(const float *dy, const float *y, float *dx,
                                 const mf_softmax_desc *d);
int mf_softmax_f32_ref(const float *x, float *y, const mf_softmax_desc *d);
#if defined(__FLT16_MAX__)
int mf_layernorm_bwd_input_f16_ref(const mf_f16 *dy, const mf_f16 *x, const mf_f16 *gamma,
                                   mf_f16 *dx, const mf_layernorm_desc *d);
int mf_layernorm_bwd_weight_f16_ref(const mf_f16 *dy, const mf_f16 *x, mf_f16 *dgamma,
                                    mf_f16 *dbeta, const mf_layernorm_desc *d);
int mf_layernorm_f16_mve(const mf_f16 *x, const mf_f16 *gamma, const mf_f16 *beta, mf_f16 *y,
                         mf_f16 *mean_out, mf_f16 *rstd_out, const mf_layernorm_desc *d);
int mf_layernorm_f16_ref(const mf_f16 *x, const mf_f16 *gamma, const mf_f16 *beta, mf_f16 *y,
                         mf_f16 *mean_out, mf_f16 *rstd_out, const mf_layernorm_desc *d);
int mf_layernorm_f16_rvv(const mf_f16 *x, const mf_f16 *gamma, const mf_f16 *beta, mf_f16 *y,
                         mf_f16 *mean_out, mf_f16 *rstd_out, const mf_layernorm_desc *d);
int mf_softmax_bwd_input_f16_ref(const mf_f16 *dy, const mf_f16 *y, mf_f16 *dx,
                                 const mf_softmax_desc *d);
int mf_softmax_f16_mve(const mf_f16 *x, mf_f16 *y, const mf_softmax_desc *d);
int mf_softmax_f16_ref(const mf_f16 *x, mf_f16 *y, const mf_softmax_desc *d);
int mf_softmax_f16_rvv(const mf_f16 *x, mf_f16 *y, const mf_softmax_desc *d);
#endif
/* PROTOS_END */

#endif
