/* 2-D convolution (NCHW activations, OIHW weights), groups so depthwise, fused activation. */
#ifndef MF_CONV_H
#define MF_CONV_H

#include "mf_types.h"

typedef struct {
    int32_t n, c_in, h_in, w_in;
    int32_t c_out, h_out, w_out;
    int32_t k_h, k_w;
    int32_t stride_h, stride_w;
    int32_t dil_h, dil_w;
    int32_t pad_top, pad_left;
    int32_t groups;
    mf_act act;
} mf_conv2d_desc;

/* The family's kernels, declared below from the kernel table; bias may be NULL in every one.
 * - mf_conv2d_<dtype>_ref: the direct convolution, no scratch.
 * - mf_conv2d_<dtype>_<dsp|rvv|mve>: im2col + GEMM panel (mf_fast.h); scratch holds
 *   mf_conv2d_scratch_bytes(d, sizeof element, MF_CONV_COLS_<ISA>) bytes.
 * - mf_conv2d_overwrite_<dtype>_<isa>: y may be x (mf_conv_inplace.h). FP16 Helium takes the
 *   reference's scratch; FP16 RVV a zero-padded depthwise plane and MF_CONV_OVERWRITE_COLS_RVV
 *   pointwise columns: mf_conv2d_overwrite_scratch_bytes_rvv.
 * - mf_conv2d_residual_f32_<isa>: y = act(conv(x) + bias + skip), y may be skip
 *   (mf_conv_inplace.h).
 * - mf_depthwise_<dtype>_<isa>: groups == c_in == c_out on the row kernels of mf_depthwise.h;
 *   the reference twin is the reference conv, or its overwrite twin when y overlaps x. FP16
 *   sums in FP16 (9-tap sums: within the kernel tests' tolerance). */
/* PROTOS_BEGIN: generated from toolchain/ops/kernel_table.py by `make protos`; do not edit */
int mf_conv2d_f32_dsp(const float *x, const float *w, const float *bias, float *y,
                      const mf_conv2d_desc *d, float *scratch);
int mf_conv2d_f32_mve(const float *x, const float *w, const float *bias, float *y,
                      const mf_conv2d_desc *d, float *scratch);
int mf_conv2d_f32_ref(const float *x, const float *w, const float *bias, float *y,
                      const mf_conv2d_desc *d);
int mf_conv2d_f32_rvv(const float *x, const float *w, const float *bias, float *y,
                      const mf_conv2d_desc *d, float *scratch);
int mf_conv2d_overwrite_f32_dsp(const float *x, const float *w, const float *bias, float *y,
                                float *scratch, const mf_conv2d_desc *d);
int mf_conv2d_overwrite_f32_mve(const float *x, const float *w, const float *bias, float *y,
                                float *scratch, const mf_conv2d_desc *d);
int mf_conv2d_overwrite_f32_ref(const float *x, const float *w, const float *bias, float *y,
                                float *scratch, const mf_conv2d_desc *d);
int mf_conv2d_overwrite_f32_rvv(const float *x, const float *w, const float *bias, float *y,
                                float *scratch, const mf_conv2d_desc *d);
int mf_conv2d_residual_f32_dsp(const float *x, const float *w, const float *bias, const float *skip,
                               float *y, float *scratch, const mf_conv2d_desc *d);
int mf_conv2d_residual_f32_mve(const float *x, const float *w, const float *bias, const float *skip,
                               float *y, float *scratch, const mf_conv2d_desc *d);
int mf_conv2d_residual_f32_ref(const float *x, const float *w, const float *bias, const float *skip,
                               float *y, float *scratch, const mf_conv2d_desc *d);
int mf_conv2d_residual_f32_rvv(const float *x, const float *w, const float *bias, const float *skip,
                               float *y, float *scratch, const mf_conv2d_desc *d);
int mf_depthwise_f32_dsp(const float *x, const float *w, const float *bias, float *y,
                         const mf_conv2d_desc *d, float *scratch);
int mf_depthwise_f32_mve(const float *x, const float *w, const float *bias, float *y,
                         const mf_conv2d_desc *d, float *scratch);
int mf_depthwise_f32_ref(const float *x, const float *w, const float *bias, float *y,
                         const mf_conv2d_desc *d, float *scratch);
int mf_depthwise_f32_rvv(const float *x, const float *w, const float *bias, float *y,
                         const mf_conv2d_desc *d, float *scratch);
#if defined(__FLT16_MAX__)
int mf_conv2d_f16_mve(const mf_f16 *x, const mf_f16 *w, const mf_f16 *bias, mf_f16 *y,
                      const mf_conv2d_desc *d, mf_f16 *scratch);
int mf_conv2d_f16_ref(const mf_f16 *x, const mf_f16 *w, const mf_f16 *bias, mf_f16 *y,
                      const mf_conv2d_desc *d);
int mf_conv2d_f16_rvv(const mf_f16 *x, const mf_f16 *w, const mf_f16 *bias, mf_f16 *y,
                      const mf_conv2d_desc *d, mf_f16 *scratch);
int mf_conv2d_overwrite_f16_mve(const mf_f16 *x, const mf_f16 *w, const mf_f16 *bias, mf_f16 *y,
                                mf_f16 *scratch, const mf_conv2d_desc *d);
int mf_conv2d_overwrite_f16_ref(const mf_f16 *x, const mf_f16 *w, const mf_f16 *bias, mf_f16 *y,
                                mf_f16 *scratch, const mf_conv2d_desc *d);
int mf_conv2d_overwrite_f16_rvv(const mf_f16 *x, const mf_f16 *w, const mf_f16 *bias, mf_f16 *y,
                                mf_f16 *scratch, const mf_conv2d_desc *d);
int mf_depthwise_f16_mve(const mf_f16 *x, const mf_f16 *w, const mf_f16 *bias, mf_f16 *y,
                         const mf_conv2d_desc *d, mf_f16 *scratch);
int mf_depthwise_f16_ref(const mf_f16 *x, const mf_f16 *w, const mf_f16 *bias, mf_f16 *y,
                         const mf_conv2d_desc *d, mf_f16 *scratch);
int mf_depthwise_f16_rvv(const mf_f16 *x, const mf_f16 *w, const mf_f16 *bias, mf_f16 *y,
                         const mf_conv2d_desc *d, mf_f16 *scratch);
#endif
/* PROTOS_END */

#endif
