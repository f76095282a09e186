/* Private to the runtime (kernel sources only): the machinery of the SIMD backward kernels
 * (PULP-TrainLib's "everything is a matmul"): the tile micro-kernels, the im2col drivers of
 * the convolution gradients and the tiled matmul gradients every ISA shares
 * (gemm_bwd_ref.inc, conv_bwd_simd.inc). The kernels themselves are declared in the
 * families' public headers (mf_conv.h, mf_gemm.h). */
#ifndef MF_TRAIN_IMPL_H
#define MF_TRAIN_IMPL_H

#include "mf_conv.h"
#include "mf_gemm.h"
#include "mf_types.h"

/* Micro-kernel of the SIMD backward (PULP-TrainLib's "everything is a matmul"):
 *   C[i][j] = alpha * sum_p A[i*a_rs + p*a_cs] * B[p*b_rs + j*b_cs]  (+ C[i][j] if accumulate)
 * i < m, j < n, p < k; C rows c_rs apart with unit column stride. A is read one scalar at a
 * time (outer product, any strides); B by rows, strided rows where b_cs != 1. */
#define MF_BWD_TILE_ARGS(T)                                                                    \
    const T *a, int32_t a_rs, int32_t a_cs, const T *b, int32_t b_rs, int32_t b_cs, T *c,    \
        int32_t c_rs, int32_t m, int32_t n, int32_t k, float alpha, int accumulate
typedef void (*mf_bwd_tile_f32_fn)(MF_BWD_TILE_ARGS(float));
void mf_bwd_tile_f32_ref(MF_BWD_TILE_ARGS(float));

/* The im2col drivers every ISA shares: they cut the convolution into tile calls. */
int mf_conv2d_bwd_input_im2col_f32(const float *dy, const float *w, float *dx,
                                   const mf_conv2d_desc *d, float *scratch, int32_t cols,
                                   mf_bwd_tile_f32_fn tile);
int mf_conv2d_bwd_weight_im2col_f32(const float *x, const float *dy, float *dw, float *db,
                                    const mf_conv2d_desc *d, float *scratch, int32_t cols,
                                    mf_bwd_tile_f32_fn tile);
/* The matmul gradients as tile calls, in the orientation whose output has unit column stride;
 * return MF_EARG when neither has (the caller then uses the reference). Bias gradients (dc)
 * use FP32 accumulators in every variant. */
int mf_gemm_bwd_input_tiled_f32(const float *dy, const float *w, float *dx,
                                const mf_gemm_bwd_input_desc *d, mf_bwd_tile_f32_fn tile);
int mf_gemm_bwd_weight_tiled_f32(const float *a, const float *dy, float *dw, float *dc,
                                 const mf_gemm_bwd_weight_desc *d, mf_bwd_tile_f32_fn tile);

/* The FP32 SIMD tiles. */
void mf_bwd_tile_f32_rvv(MF_BWD_TILE_ARGS(float));
void mf_bwd_tile_f32_mve(MF_BWD_TILE_ARGS(float));

#if defined(__FLT16_MAX__)
#include "mf_f16.h"

typedef void (*mf_bwd_tile_f16_fn)(MF_BWD_TILE_ARGS(mf_f16));
void mf_bwd_tile_f16_ref(MF_BWD_TILE_ARGS(mf_f16));
int mf_conv2d_bwd_input_im2col_f16(const mf_f16 *dy, const mf_f16 *w, mf_f16 *dx,
                                   const mf_conv2d_desc *d, mf_f16 *scratch, int32_t cols,
                                   mf_bwd_tile_f16_fn tile);
int mf_conv2d_bwd_weight_im2col_f16(const mf_f16 *x, const mf_f16 *dy, mf_f16 *dw, mf_f16 *db,
                                    const mf_conv2d_desc *d, mf_f16 *scratch, int32_t cols,
                                    mf_bwd_tile_f16_fn tile);
int mf_gemm_bwd_input_tiled_f16(const mf_f16 *dy, const mf_f16 *w, mf_f16 *dx,
                                const mf_gemm_bwd_input_desc *d, mf_bwd_tile_f16_fn tile);
int mf_gemm_bwd_weight_tiled_f16(const mf_f16 *a, const mf_f16 *dy, mf_f16 *dw, mf_f16 *dc,
                                 const mf_gemm_bwd_weight_desc *d, mf_bwd_tile_f16_fn tile);

void mf_bwd_tile_f16_rvv(MF_BWD_TILE_ARGS(mf_f16));
void mf_bwd_tile_f16_mve(MF_BWD_TILE_ARGS(mf_f16));
#endif

#endif
