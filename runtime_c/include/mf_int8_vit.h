/* Integer-only transformer kernels (issue 15): LayerNorm with an integer square root, a
 * 256-entry lookup table for any element-wise function of one int8 tensor (GELU, a scale
 * Mul...), the int8 MatMul and Mul of two activations (attention's QK^T and AV, the GELU
 * formula's product) and the Add of a bias row. The conventions are mf_int8.h's: int8 in
 * and out, int32/int64 accumulation, constants derived at compile time by
 * toolchain/ops/qtransformer.py, whose numpy twins are bit-exact with these kernels. SIMD
 * variants (_dsp, _mve, _rvv) keep the same contract and are checked against _ref in the
 * same simulator binary (tests/kernels/vit_s8.c). */
#ifndef MF_INT8_VIT_H
#define MF_INT8_VIT_H

#include "mf_int8.h"

/* LayerNorm over the last axis (cols <= MF_LAYERNORM_S8_MAX_COLS), per row:
 *   x_i = X_i - in_zp,  d_i = cols * x_i - sum(x),  V = sum(d_i^2) + eps_q
 *   (d_i / sqrt(V) is the normalised value over sqrt(cols), exactly; eps_q is
 *   eps * cols^3 / in_scale^2 rounded),
 *   D = isqrt(V << 2h) with the even shift 2h that puts V << 2h in [2^60, 2^62),
 *   inv = 2^62 / D,  N_i = round(d_i * inv / 2^(62 - F - h))   (|N_i| <= 2^F, F = 24)
 *   y_i = clamp(out_zp + round((N_i * gamma[i] + beta[i] * 2^F) / 2^(F + g_shift)))
 * where gamma[i] = round(g_i * sqrt(cols) / out_scale * 2^g_shift) and
 * beta[i] = round(b_i / out_scale * 2^g_shift) (both < 2^30 by the choice of g_shift).
 * y may be x: a row is read whole before it is written. mf_isqrt_u64(v) = floor(sqrt(v)),
 * bit by bit (no float, no division). */
#define MF_LAYERNORM_S8_FRAC 24
#define MF_LAYERNORM_S8_MAX_COLS 4096
typedef struct {
    int32_t rows, cols;
    int32_t in_zp, out_zp;
    int64_t eps_q;
    int32_t g_shift;
} mf_layernorm_s8_desc;

/* mf_lut_s8: y[j] = lut[x[j] + 128] for n elements (y may be x). */

/* Batched MatMul of two int8 activations: for b < batch,
 *   y_b[m][n] = clamp(out_zp + requant(sum_k (a_b[m][k] - a_zp) * (B_b[k][n] - b_zp)))
 * a_b = a + b * a_stride ([m][k]); B_b = b + b * b_stride, [k][n] (b_trans 0) or [n][k]
 * (b_trans 1: K^T read straight from K); y_b = y + b * m * n. A stride of 0 broadcasts.
 * B's rows are b_ld elements apart (0: dense, n or k): the fused attention reads a head of
 * K or V in place inside the [tokens][heads * d] layout the projections write. */
typedef struct {
    int32_t batch, m, n, k;
    int32_t a_stride, b_stride;
    int32_t b_trans;
    int32_t a_zp, b_zp;
    mf_requant_s8 rq; /* one entry */
    int32_t b_ld;
} mf_matmul_s8_desc;

/* Fused attention, MCUFormer-style (the chain QMatMul -> [QLut] -> QSoftmax -> QMatMul that
 * the op-by-op graph runs over all heads' N x N scores): per head h < qk.batch and per block
 * of at most `block` query rows, the chain's own kernels on that block only:
 *   scratch = mf_matmul_s8(q_h rows, k_h, qk narrowed to the block's rows)
 *   scratch = lut ? mf_lut_s8(scratch, lut) : scratch;  mf_softmax_s8(scratch, sm)
 *   y_h rows = mf_matmul_s8(scratch, v_h, av narrowed to the block's rows)
 * so y is bit-exact with the chain. qk and av are the chain's descriptors (q_h = q + h *
 * qk.a_stride, k_h = k + h * qk.b_stride, v_h = v + h * av.b_stride, y_h = y + h * y_stride
 * (0: m * av.n)); sm.rows is ignored. Rows of q and y are q_ld and y_ld elements apart (0:
 * dense, qk.k and av.n): with K and V's b_ld, the kernel reads the heads in place in the
 * [tokens][heads * d] layout the projections write and writes y in it, so the exporters'
 * head Transposes are not needed. Strided q rows are copied to scratch first, strided y
 * rows written from scratch last. y may be q when av.n = qk.k and the layouts agree: a
 * block's y elements are q's elements that the block has read. scratch:
 * mf_attention_s8_scratch_bytes(d) = block * (qk.n + (strided ? max(qk.k, av.n) : 0)). */
typedef struct {
    int32_t block;
    mf_matmul_s8_desc qk;
    mf_softmax_s8_desc sm;
    mf_matmul_s8_desc av;
    int32_t q_ld, y_ld, y_stride;
} mf_attention_s8_desc;

/* mf_mul_s8: y[j] = clamp(out_zp + requant((a[j] - a_zp) * (b[j] - b_zp))) for j < n; y may
 * be a or b. */
typedef struct {
    int32_t n;
    int32_t a_zp, b_zp;
    mf_requant_s8 rq; /* one entry */
} mf_mul_s8_desc;

/* mf_add_row_s8: y[r][j] = mf_add_s8(x[r][j], row[j]) for r < rows, j < d->n (the row's
 * length); y may be x. */

/* PROTOS_BEGIN: generated from toolchain/ops/kernel_table.py by `make protos`; do not edit */
int mf_add_row_s8_dsp(const int8_t *x, const int8_t *row, int8_t *y, int32_t rows,
                      const mf_add_s8_desc *d);
int mf_add_row_s8_mve(const int8_t *x, const int8_t *row, int8_t *y, int32_t rows,
                      const mf_add_s8_desc *d);
int mf_add_row_s8_ref(const int8_t *x, const int8_t *row, int8_t *y, int32_t rows,
                      const mf_add_s8_desc *d);
int mf_add_row_s8_rvv(const int8_t *x, const int8_t *row, int8_t *y, int32_t rows,
                      const mf_add_s8_desc *d);
int mf_attention_s8_dsp(const int8_t *q, const int8_t *k, const int8_t *v, const int8_t *lut,
                        int8_t *y, const mf_attention_s8_desc *d, int8_t *scratch);
int mf_attention_s8_mve(const int8_t *q, const int8_t *k, const int8_t *v, const int8_t *lut,
                        int8_t *y, const mf_attention_s8_desc *d, int8_t *scratch);
int mf_attention_s8_ref(const int8_t *q, const int8_t *k, const int8_t *v, const int8_t *lut,
                        int8_t *y, const mf_attention_s8_desc *d, int8_t *scratch);
int mf_attention_s8_rvv(const int8_t *q, const int8_t *k, const int8_t *v, const int8_t *lut,
                        int8_t *y, const mf_attention_s8_desc *d, int8_t *scratch);
int32_t mf_attention_s8_scratch_bytes(const mf_attention_s8_desc *d);
uint32_t mf_isqrt_u64(uint64_t v);
int mf_layernorm_s8_dsp(const int8_t *x, const int32_t *gamma, const int32_t *beta, int8_t *y,
                        const mf_layernorm_s8_desc *d);
int mf_layernorm_s8_mve(const int8_t *x, const int32_t *gamma, const int32_t *beta, int8_t *y,
                        const mf_layernorm_s8_desc *d);
int mf_layernorm_s8_ref(const int8_t *x, const int32_t *gamma, const int32_t *beta, int8_t *y,
                        const mf_layernorm_s8_desc *d);
int mf_layernorm_s8_rvv(const int8_t *x, const int32_t *gamma, const int32_t *beta, int8_t *y,
                        const mf_layernorm_s8_desc *d);
int mf_lut_s8_dsp(const int8_t *x, const int8_t *lut, int8_t *y, int32_t n);
int mf_lut_s8_mve(const int8_t *x, const int8_t *lut, int8_t *y, int32_t n);
int mf_lut_s8_ref(const int8_t *x, const int8_t *lut, int8_t *y, int32_t n);
int mf_lut_s8_rvv(const int8_t *x, const int8_t *lut, int8_t *y, int32_t n);
int mf_matmul_s8_dsp(const int8_t *a, const int8_t *b, int8_t *y, const mf_matmul_s8_desc *d);
int mf_matmul_s8_mve(const int8_t *a, const int8_t *b, int8_t *y, const mf_matmul_s8_desc *d);
int mf_matmul_s8_ref(const int8_t *a, const int8_t *b, int8_t *y, const mf_matmul_s8_desc *d);
int mf_matmul_s8_rvv(const int8_t *a, const int8_t *b, int8_t *y, const mf_matmul_s8_desc *d);
int mf_mul_s8_dsp(const int8_t *a, const int8_t *b, int8_t *y, const mf_mul_s8_desc *d);
int mf_mul_s8_mve(const int8_t *a, const int8_t *b, int8_t *y, const mf_mul_s8_desc *d);
int mf_mul_s8_ref(const int8_t *a, const int8_t *b, int8_t *y, const mf_mul_s8_desc *d);
int mf_mul_s8_rvv(const int8_t *a, const int8_t *b, int8_t *y, const mf_mul_s8_desc *d);
/* PROTOS_END */

#endif
