/* Matrix multiply: Gemm and (batched, broadcast) MatMul, with bias and activation. */
#ifndef MF_GEMM_H
#define MF_GEMM_H

#include "mf_types.h"

#define MF_MAX_BATCH_RANK 6

/* For each batch index b over batch_shape (y batches are contiguous, m*n each):
 *   y[b][i][j] = act(alpha * sum_k A[i][k] * B[k][j] + beta * C[i][j])
 * with A[i][k] = a[a_off(b) + i*a_rs + k*a_cs], B[k][j] = b[b_off(b) + k*b_rs + j*b_cs],
 * C[i][j] = c[i*c_rs + j*c_cs] (c may be NULL; strides 0 broadcast). */
typedef struct {
    int32_t batch_rank;
    int32_t batch_shape[MF_MAX_BATCH_RANK];
    int32_t a_bstride[MF_MAX_BATCH_RANK];
    int32_t b_bstride[MF_MAX_BATCH_RANK];
    int32_t m, n, k;
    int32_t a_rs, a_cs, b_rs, b_cs;
    int32_t c_rs, c_cs;
    float alpha, beta;
    mf_act act;
} mf_gemm_desc;

/* Training. */
/* mf_gemm_bwd_input: for each batch index b over batch_shape:
 *   o[b][i*o_rs + k*o_cs] = alpha * sum_j dy[b][i*dy_rs + j*dy_cs] * w[b][k*w_rs + j*w_cs]
 * The gradient of either matmul operand is this product (for B, of the transposed problem). */
typedef struct {
    int32_t batch_rank;
    int32_t batch_shape[MF_MAX_BATCH_RANK];
    int32_t dy_bstride[MF_MAX_BATCH_RANK];
    int32_t w_bstride[MF_MAX_BATCH_RANK];
    int32_t o_bstride[MF_MAX_BATCH_RANK];
    int32_t m, n, k;
    int32_t dy_rs, dy_cs, w_rs, w_cs, o_rs, o_cs;
    float alpha;
} mf_gemm_bwd_input_desc;


/* mf_gemm_bwd_weight: rows r = 0..rows-1 of A (A[r][k] = a[r*a_rs + k*a_cs]) and of dy (contiguous, n columns):
 *   dw[k*w_ks + j*w_ns] = alpha * sum_r A[r][k] * dy[r][j]
 *   dc[(r % m)*c_rs + j*c_cs] += beta * dy[r][j]   (dc zeroed first over c_size elements)
 * A batched matmul against a 2-D weight flattens its batch into rows. dw or dc may be NULL. */
typedef struct {
    int32_t rows, m, n, k;
    int32_t a_rs, a_cs;
    int32_t w_ks, w_ns;
    int32_t c_size, c_rs, c_cs;
    float alpha, beta;
} mf_gemm_bwd_weight_desc;


/* PROTOS_BEGIN: generated from toolchain/ops/kernel_table.py by `make protos`; do not edit */
int mf_gemm_bwd_input_f32_mve(const float *dy, const float *w, float *dx,
                              const mf_gemm_bwd_input_desc *d);
int mf_gemm_bwd_input_f32_ref(const float *dy, const float *w, float *dx,
                              const mf_gemm_bwd_input_desc *d);
int mf_gemm_bwd_input_f32_rvv(const float *dy, const float *w, float *dx,
                              const mf_gemm_bwd_input_desc *d);
int mf_gemm_bwd_weight_f32_mve(const float *a, const float *dy, float *dw, float *dc,
                               const mf_gemm_bwd_weight_desc *d);
int mf_gemm_bwd_weight_f32_ref(const float *a, const float *dy, float *dw, float *dc,
                               const mf_gemm_bwd_weight_desc *d);
int mf_gemm_bwd_weight_f32_rvv(const float *a, const float *dy, float *dw, float *dc,
                               const mf_gemm_bwd_weight_desc *d);
int mf_gemm_f32_dsp(const float *a, const float *b, const float *c, float *y,
                    const mf_gemm_desc *d);
int mf_gemm_f32_mve(const float *a, const float *b, const float *c, float *y,
                    const mf_gemm_desc *d);
int mf_gemm_f32_ref(const float *a, const float *b, const float *c, float *y,
                    const mf_gemm_desc *d);
int mf_gemm_f32_rvv(const float *a, const float *b, const float *c, float *y,
                    const mf_gemm_desc *d);
#if defined(__FLT16_MAX__)
int mf_gemm_bwd_input_f16_mve(const mf_f16 *dy, const mf_f16 *w, mf_f16 *dx,
                              const mf_gemm_bwd_input_desc *d);
int mf_gemm_bwd_input_f16_ref(const mf_f16 *dy, const mf_f16 *w, mf_f16 *dx,
                              const mf_gemm_bwd_input_desc *d);
int mf_gemm_bwd_input_f16_rvv(const mf_f16 *dy, const mf_f16 *w, mf_f16 *dx,
                              const mf_gemm_bwd_input_desc *d);
int mf_gemm_bwd_weight_f16_mve(const mf_f16 *a, const mf_f16 *dy, mf_f16 *dw, mf_f16 *dc,
                               const mf_gemm_bwd_weight_desc *d);
int mf_gemm_bwd_weight_f16_ref(const mf_f16 *a, const mf_f16 *dy, mf_f16 *dw, mf_f16 *dc,
                               const mf_gemm_bwd_weight_desc *d);
int mf_gemm_bwd_weight_f16_rvv(const mf_f16 *a, const mf_f16 *dy, mf_f16 *dw, mf_f16 *dc,
                               const mf_gemm_bwd_weight_desc *d);
int mf_gemm_f16_mve(const mf_f16 *a, const mf_f16 *b, const mf_f16 *c, mf_f16 *y,
                    const mf_gemm_desc *d);
int mf_gemm_f16_ref(const mf_f16 *a, const mf_f16 *b, const mf_f16 *c, mf_f16 *y,
                    const mf_gemm_desc *d);
int mf_gemm_f16_rvv(const mf_f16 *a, const mf_f16 *b, const mf_f16 *c, mf_f16 *y,
                    const mf_gemm_desc *d);
#endif
/* PROTOS_END */

#endif
