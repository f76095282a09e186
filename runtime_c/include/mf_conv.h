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
 * - mf_conv2d_<dtype>_<dsp|rvv|mve>: im2col + GEMM panel; scratch holds
 *   mf_conv2d_scratch_bytes(d, sizeof element, MF_CONV_COLS_<ISA>) bytes.
 * - mf_conv2d_overwrite_<dtype>_<isa>: y may be x (the planner's overwrite alias). FP16 Helium
 *   takes the reference's scratch; FP16 RVV a zero-padded depthwise plane and
 *   MF_CONV_OVERWRITE_COLS_RVV pointwise columns: mf_conv2d_overwrite_scratch_bytes_rvv.
 * - mf_conv2d_residual_f32_<isa>: y = act(conv(x) + bias + skip), y may be skip.
 * - mf_depthwise_<dtype>_<isa>: groups == c_in == c_out on the row kernels of mf_depthwise.h;
 *   the reference twin is the reference conv, or its overwrite twin when y overlaps x. FP16
 *   sums in FP16 (9-tap sums: within the kernel tests' tolerance).
 * - mf_conv2d_bwd_input/_bwd_weight_<dtype>_<isa>: training; the forward's descriptor (its act
 *   is ignored: see mf_act_bwd_input in mf_elementwise.h). dw and db may each be NULL (not
 *   trained). The SIMD ones take mf_conv2d_bwd_scratch_bytes(d, elem, MF_BWD_COLS_<ISA>).
 * How the fast kernels are built (im2col chunks, panels, the overwrite and residual
 * schedules) is in the private runtime_c/src/mf_fast.h and mf_conv_inplace.h. */

/* The scratch contract: each size function below has a Python twin in toolchain/ops/conv.py
 * (tests/test_kernel_table.py checks the constants, the kernel tests the sizes). */

/* Output pixels per im2col chunk: the micro-kernel's column count. */
#define MF_CONV_COLS_REF 4
#define MF_CONV_COLS_DSP 4  /* 4x4 FP32 register tile */
#define MF_CONV_COLS_RVV 16 /* e16 at LMUL=2 / e32 at LMUL=4 with VLEN=128; vsetvl strips it */
#define MF_CONV_COLS_MVE 16 /* two Q registers of f16: the 3x16 GEMM tile (gemm_f16_mve.c) */

/* Pixel columns per pointwise overwrite tile: scratch is c_out x P values, and each tile pays
 * a fixed cost (a panel call, c_out short copy loops). DS-CNN on stm32f746-disco,
 * instructions over the non-overwriting kernels: P = 4 +5.2%, 8 +4.0%, 16 +3.3% (with 1.5 KB
 * more arena). 8 (two 4-column register tiles of the dsp panel) keeps most of the gain for
 * 2 KB of scratch at 64 channels, below DS-CNN's peak (its first conv) on that board. */
#define MF_CONV_OVERWRITE_COLS 8
/* RVV: one e16 vector at LMUL=2 with VLEN=128 (the non-overwriting conv's chunk); at 8 the
 * panel runs half-empty vectors and DS-CNN FP16 took 17% more instructions than without
 * overwriting, at 16 the same arena. */
#define MF_CONV_OVERWRITE_COLS_RVV 16

/* SIMD backward: pixels per im2col chunk. */
#define MF_BWD_COLS_REF 8
#define MF_BWD_COLS_RVV 16 /* e16 at LMUL 2 / e32 at LMUL 4, VLEN 128: one vector per row */
#define MF_BWD_COLS_MVE 8  /* one Q register of f16 */

/* Bytes of scratch an im2col convolution needs; 0 when it reads the input directly
 * (depthwise, or 1x1 stride 1 unpadded). */
int32_t mf_conv2d_scratch_bytes(const mf_conv2d_desc *d, int32_t elem_bytes, int32_t cols);
/* Bytes of scratch mf_conv2d_overwrite_* needs with `cols` pixel columns per pointwise tile
 * (MF_CONV_OVERWRITE_COLS, or the ISA's MF_CONV_OVERWRITE_COLS_<ISA>); 0 when the shape
 * cannot overwrite. */
int32_t mf_conv2d_overwrite_scratch_bytes(const mf_conv2d_desc *d, int32_t elem_bytes,
                                          int32_t cols);
int32_t mf_conv2d_overwrite_scratch_bytes_rvv(const mf_conv2d_desc *d, int32_t elem_bytes);
/* Bytes of scratch mf_conv2d_residual_* needs with `cols` pixels per chunk
 * (MF_CONV_COLS_<ISA>): the tile, plus the im2col panel unless pointwise. */
int32_t mf_conv2d_residual_scratch_bytes(const mf_conv2d_desc *d, int32_t elem_bytes,
                                         int32_t cols);
/* Bytes of scratch of the im2col backward convolution; 0 for depthwise (groups > 1 and
 * groups == c_in == c_out: direct loops). */
int32_t mf_conv2d_bwd_scratch_bytes(const mf_conv2d_desc *d, int32_t elem_bytes, int32_t cols);

/* PROTOS_BEGIN: generated from toolchain/ops/kernel_table.py by `make protos`; do not edit */
int mf_conv2d_bwd_input_f32_mve(const float *dy, const float *w, float *dx, const mf_conv2d_desc *d,
                                float *scratch);
int mf_conv2d_bwd_input_f32_ref(const float *dy, const float *w, float *dx,
                                const mf_conv2d_desc *d);
int mf_conv2d_bwd_input_f32_rvv(const float *dy, const float *w, float *dx, const mf_conv2d_desc *d,
                                float *scratch);
int mf_conv2d_bwd_weight_f32_mve(const float *x, const float *dy, float *dw, float *db,
                                 const mf_conv2d_desc *d, float *scratch);
int mf_conv2d_bwd_weight_f32_ref(const float *x, const float *dy, float *dw, float *db,
                                 const mf_conv2d_desc *d);
int mf_conv2d_bwd_weight_f32_rvv(const float *x, const float *dy, float *dw, float *db,
                                 const mf_conv2d_desc *d, float *scratch);
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
int mf_conv2d_bwd_input_f16_mve(const mf_f16 *dy, const mf_f16 *w, mf_f16 *dx,
                                const mf_conv2d_desc *d, mf_f16 *scratch);
int mf_conv2d_bwd_input_f16_ref(const mf_f16 *dy, const mf_f16 *w, mf_f16 *dx,
                                const mf_conv2d_desc *d);
int mf_conv2d_bwd_input_f16_rvv(const mf_f16 *dy, const mf_f16 *w, mf_f16 *dx,
                                const mf_conv2d_desc *d, mf_f16 *scratch);
int mf_conv2d_bwd_weight_f16_mve(const mf_f16 *x, const mf_f16 *dy, mf_f16 *dw, mf_f16 *db,
                                 const mf_conv2d_desc *d, mf_f16 *scratch);
int mf_conv2d_bwd_weight_f16_ref(const mf_f16 *x, const mf_f16 *dy, mf_f16 *dw, mf_f16 *db,
                                 const mf_conv2d_desc *d);
int mf_conv2d_bwd_weight_f16_rvv(const mf_f16 *x, const mf_f16 *dy, mf_f16 *dw, mf_f16 *db,
                                 const mf_conv2d_desc *d, mf_f16 *scratch);
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
