/* FP32 GEMM for cores without float SIMD (Cortex-M4/M7): a 4x4 register tile.
 *
 * What bounds it: the loads. Per k the tile reads 4 values of A (one per row) and 4 of B
 * and does 16 FMAs, so at best 1.5 instructions per MAC with 32 S registers; the compiler
 * unrolls k so the A loads use immediate offsets and the B row comes in with one VLDM.
 * MF_FMA (mf_fast.h) makes both GCC and clang emit VFMA. */
#include "mf_elementwise.h"
#include "mf_fast.h"

#if defined(__clang__)
#define MF_UNROLL_K _Pragma("clang loop unroll_count(4)")
#else
#define MF_UNROLL_K _Pragma("GCC unroll 4")
#endif

static inline float relu_if(float v, int relu)
{
    return relu && v < 0.0f ? 0.0f : v;
}

static inline void store_row(float *c, float v0, float v1, float v2, float v3, int relu)
{
    c[0] = relu_if(v0, relu);
    c[1] = relu_if(v1, relu);
    c[2] = relu_if(v2, relu);
    c[3] = relu_if(v3, relu);
}

static void tile_4x4(const float *a, int32_t lda, const float *b, int32_t ldb, float *c,
                     int32_t ldc, int32_t k, const float *bias, int relu)
{
    const float *a0 = a, *a1 = a + lda, *a2 = a + 2 * lda, *a3 = a + 3 * lda;
    const float r0 = bias ? bias[0] : 0.0f, r1 = bias ? bias[1] : 0.0f;
    const float r2 = bias ? bias[2] : 0.0f, r3 = bias ? bias[3] : 0.0f;
    float c00 = r0, c01 = r0, c02 = r0, c03 = r0, c10 = r1, c11 = r1, c12 = r1, c13 = r1,
          c20 = r2, c21 = r2, c22 = r2, c23 = r2, c30 = r3, c31 = r3, c32 = r3, c33 = r3;
    MF_UNROLL_K
    for (int32_t p = 0; p < k; ++p) {
        const float b0 = b[0], b1 = b[1], b2 = b[2], b3 = b[3];
        const float x0 = a0[p], x1 = a1[p], x2 = a2[p], x3 = a3[p];
        b += ldb;
        c00 = MF_FMA(x0, b0, c00); c01 = MF_FMA(x0, b1, c01);
        c02 = MF_FMA(x0, b2, c02); c03 = MF_FMA(x0, b3, c03);
        c10 = MF_FMA(x1, b0, c10); c11 = MF_FMA(x1, b1, c11);
        c12 = MF_FMA(x1, b2, c12); c13 = MF_FMA(x1, b3, c13);
        c20 = MF_FMA(x2, b0, c20); c21 = MF_FMA(x2, b1, c21);
        c22 = MF_FMA(x2, b2, c22); c23 = MF_FMA(x2, b3, c23);
        c30 = MF_FMA(x3, b0, c30); c31 = MF_FMA(x3, b1, c31);
        c32 = MF_FMA(x3, b2, c32); c33 = MF_FMA(x3, b3, c33);
    }
    store_row(c, c00, c01, c02, c03, relu);
    store_row(c + ldc, c10, c11, c12, c13, relu);
    store_row(c + 2 * ldc, c20, c21, c22, c23, relu);
    store_row(c + 3 * ldc, c30, c31, c32, c33, relu);
}

/* The same tile over a packed B panel (rows of exactly 4, as im2col writes them): every
 * load of an unrolled step has an immediate offset, so a step costs 8 loads + 16 FMAs. */
#define MF_STEP(o)                                                                             \
    do {                                                                                       \
        const float b0 = b[4 * (o)], b1 = b[4 * (o) + 1], b2 = b[4 * (o) + 2], b3 = b[4 * (o) + 3]; \
        const float x0 = a0[o], x1 = a1[o], x2 = a2[o], x3 = a3[o];                            \
        c00 = MF_FMA(x0, b0, c00); c01 = MF_FMA(x0, b1, c01);                                   \
        c02 = MF_FMA(x0, b2, c02); c03 = MF_FMA(x0, b3, c03);                                   \
        c10 = MF_FMA(x1, b0, c10); c11 = MF_FMA(x1, b1, c11);                                   \
        c12 = MF_FMA(x1, b2, c12); c13 = MF_FMA(x1, b3, c13);                                   \
        c20 = MF_FMA(x2, b0, c20); c21 = MF_FMA(x2, b1, c21);                                   \
        c22 = MF_FMA(x2, b2, c22); c23 = MF_FMA(x2, b3, c23);                                   \
        c30 = MF_FMA(x3, b0, c30); c31 = MF_FMA(x3, b1, c31);                                   \
        c32 = MF_FMA(x3, b2, c32); c33 = MF_FMA(x3, b3, c33);                                   \
    } while (0)

static void tile_4x4_packed(const float *a, int32_t lda, const float *b, float *c, int32_t ldc,
                            int32_t k, const float *bias, int relu)
{
    const float *a0 = a, *a1 = a + lda, *a2 = a + 2 * lda, *a3 = a + 3 * lda;
    const float r0 = bias ? bias[0] : 0.0f, r1 = bias ? bias[1] : 0.0f;
    const float r2 = bias ? bias[2] : 0.0f, r3 = bias ? bias[3] : 0.0f;
    float c00 = r0, c01 = r0, c02 = r0, c03 = r0, c10 = r1, c11 = r1, c12 = r1, c13 = r1,
          c20 = r2, c21 = r2, c22 = r2, c23 = r2, c30 = r3, c31 = r3, c32 = r3, c33 = r3;
    int32_t p = 0;
    for (; p + 8 <= k; p += 8, a0 += 8, a1 += 8, a2 += 8, a3 += 8, b += 32) {
        MF_STEP(0);
        MF_STEP(1);
        MF_STEP(2);
        MF_STEP(3);
        MF_STEP(4);
        MF_STEP(5);
        MF_STEP(6);
        MF_STEP(7);
    }
    for (; p < k; ++p, ++a0, ++a1, ++a2, ++a3, b += 4) MF_STEP(0);
    store_row(c, c00, c01, c02, c03, relu);
    store_row(c + ldc, c10, c11, c12, c13, relu);
    store_row(c + 2 * ldc, c20, c21, c22, c23, relu);
    store_row(c + 3 * ldc, c30, c31, c32, c33, relu);
}

/* Edge rows/columns (m or n not a multiple of 4): one output at a time. */
static void edge(MF_PANEL_ARGS(float))
{
    for (int32_t i = 0; i < m; ++i)
        for (int32_t j = 0; j < n; ++j) {
            float acc = bias ? bias[i] : 0.0f;
            for (int32_t p = 0; p < k; ++p) acc = MF_FMA(a[i * lda + p], b[p * ldb + j], acc);
            c[i * ldc + j] = relu_if(acc, relu);
        }
}

void mf_gemm_panel_f32_dsp(MF_PANEL_ARGS(float))
{
    const int32_t m4 = m & ~3, n4 = n & ~3;
    for (int32_t i = 0; i < m4; i += 4) {
        const float *bi = bias ? bias + i : NULL;
        for (int32_t j = 0; j < n4; j += 4) {
            if (ldb == 4) tile_4x4_packed(a + i * lda, lda, b + j, c + i * ldc + j, ldc, k, bi, relu);
            else tile_4x4(a + i * lda, lda, b + j, ldb, c + i * ldc + j, ldc, k, bi, relu);
        }
    }
    if (n4 < n) edge(a, lda, b + n4, ldb, c + n4, ldc, m4, n - n4, k, bias, relu);
    if (m4 < m) edge(a + m4 * lda, lda, b, ldb, c + m4 * ldc, ldc, m - m4, n, k, bias ? bias + m4 : NULL, relu);
}

/* Layouts the panel cannot take (transposed A or B): plain loops, still correct. */
static void gemm_strided(const float *a, const float *b, float *y, const mf_gemm_desc *d)
{
    for (int32_t i = 0; i < d->m; ++i)
        for (int32_t j = 0; j < d->n; ++j) {
            const float *ar = a + i * d->a_rs, *bc = b + j * d->b_cs;
            float acc = 0.0f;
            for (int32_t p = 0; p < d->k; ++p) acc = MF_FMA(ar[p * d->a_cs], bc[p * d->b_rs], acc);
            y[i * d->n + j] = acc;
        }
}

int mf_gemm_f32_dsp(const float *a, const float *b, const float *c, float *y,
                    const mf_gemm_desc *d)
{
    if (!a || !b || !y || !d || d->batch_rank < 0 || d->batch_rank > MF_MAX_BATCH_RANK)
        return MF_EARG;
    int32_t batches = 1;
    for (int32_t i = 0; i < d->batch_rank; ++i) batches *= d->batch_shape[i];
    const int panel = d->a_cs == 1 && d->b_cs == 1;
    int32_t idx[MF_MAX_BATCH_RANK] = {0};
    for (int32_t bi = 0; bi < batches; ++bi) {
        int32_t oa = 0, ob = 0;
        for (int32_t i = 0; i < d->batch_rank; ++i) {
            oa += idx[i] * d->a_bstride[i];
            ob += idx[i] * d->b_bstride[i];
        }
        float *py = y + bi * d->m * d->n;
        if (panel) mf_gemm_panel_f32_dsp(a + oa, d->a_rs, b + ob, d->b_rs, py, d->n, d->m, d->n, d->k, NULL, 0);
        else gemm_strided(a + oa, b + ob, py, d);
        const int plain = d->alpha == 1.0f && !c && d->act.kind == MF_ACT_NONE;
        for (int32_t i = 0; i < d->m && !plain; ++i)
            for (int32_t j = 0; j < d->n; ++j) {
                float v = d->alpha * py[i * d->n + j];
                if (c) v += d->beta * c[i * d->c_rs + j * d->c_cs];
                py[i * d->n + j] = mf_act_apply_f32(&d->act, v);
            }
        for (int32_t i = d->batch_rank - 1; i >= 0; --i) {
            if (++idx[i] < d->batch_shape[i]) break;
            idx[i] = 0;
        }
    }
    return MF_OK;
}
