/* FP16 GEMM for Arm Helium (MVE, Cortex-M55): outer-product micro-kernels.
 *
 * Main tile: 3 rows x 16 columns of C in 6 Q accumulators, one Q register for B reused for
 * both column halves (the three A scalars stay in general registers). Per k: 3 ldrh of A (post-
 * incremented), 2 vldrh of B, one add of the B row stride, 6 vfma by scalar: 48 MACs per 12
 * instructions, K unrolled by 2 under a low-overhead loop (dls/le). The loop is inline
 * assembly because clang's loop-strength reduction otherwise rebuilds the row addresses with an
 * add per row and k (26 instructions per 56 MACs in the former 7x8 tile).
 * Column tails (n % 16, and the 8-column im2col chunks of convolutions) use a 7 x 8 tile: inline
 * assembly (17 instructions per 56 MACs) when 8 columns remain, else C with vctp16q-predicated
 * loads and stores, then a 4 x 8 tile in C for 4..6 leftover rows (one head's PV in the
 * attention row path); leftover rows (m % 3) of the 16-column blocks a 1 x 16 tile in C.
 * Accumulates in FP16: MVE has no widening FP16->FP32 multiply-accumulate. */
#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 2)
#include <arm_mve.h>

#include "mf_fast.h"

#define ROWS 7

static inline float16x8_t seed(const mf_f16 *bias, int32_t i)
{
    return vdupq_n_f16(bias ? (float16_t)bias[i] : (float16_t)0.0f);
}

static inline void put(mf_f16 *c, float16x8_t v, int relu, mve_pred16_t p)
{
    if (relu) v = vmaxnmq_f16(v, vdupq_n_f16((float16_t)0.0f));
    vstrhq_p_f16((float16_t *)c, v, p);
}

#include "gemm_tile_mve.inc"

static void tile3x16(const mf_f16 *a0, int32_t lda, const mf_f16 *bp, int32_t ldb, mf_f16 *c,
                     int32_t ldc, int32_t k, const mf_f16 *bias, int32_t i, int relu)
{
    const mf_f16 *a1 = a0 + lda, *a2 = a1 + lda;
    const int32_t ldb2 = ldb * 2; /* bytes */
    float16x8_t c00 = seed(bias, i), c01 = c00, c10 = seed(bias, i + 1), c11 = c10;
    float16x8_t c20 = seed(bias, i + 2), c21 = c20, qb;
    uint32_t t0, t1, t2;
    MF_MVE_TILE3X16_LOOP(k);
    const mve_pred16_t all = vctp16q(8);
    put(c, c00, relu, all);
    put(c + 8, c01, relu, all);
    put(c + ldc, c10, relu, all);
    put(c + ldc + 8, c11, relu, all);
    put(c + 2 * ldc, c20, relu, all);
    put(c + 2 * ldc + 8, c21, relu, all);
}

/* One k step of the 7 x 8 tile (im2col chunks are 8 columns): 17 instructions per 56 MACs. */
#define MF_MVE_ROW(r) "ldrh %[t], [%[a" #r "]], #2\n\tvfma.f16 %q[c" #r "], %q[qb], %[t]\n\t"
#define MF_MVE_STEP7                                                                         \
    "vldrh.u16 %q[qb], [%[bp]]\n\tadd %[bp], %[ldb2]\n\t" MF_MVE_ROW(0) MF_MVE_ROW(1)     \
        MF_MVE_ROW(2) MF_MVE_ROW(3) MF_MVE_ROW(4) MF_MVE_ROW(5) MF_MVE_ROW(6)
#define MF_MVE_OPERANDS7                                                                     \
    [c0] "+w"(c0), [c1] "+w"(c1), [c2] "+w"(c2), [c3] "+w"(c3), [c4] "+w"(c4), [c5] "+w"(c5), \
        [c6] "+w"(c6), [qb] "=&w"(qb), [t] "=&r"(t), [a0] "+r"(a0), [a1] "+r"(a1),           \
        [a2] "+r"(a2), [a3] "+r"(a3), [a4] "+r"(a4), [a5] "+r"(a5), [a6] "+r"(a6), [bp] "+r"(bp)

static void tile7x8(const mf_f16 *a0, int32_t lda, const mf_f16 *bp, int32_t ldb, mf_f16 *c,
                    int32_t ldc, int32_t k, const mf_f16 *bias, int32_t i, int relu)
{
    const mf_f16 *a1 = a0 + lda, *a2 = a1 + lda, *a3 = a2 + lda, *a4 = a3 + lda;
    const mf_f16 *a5 = a4 + lda, *a6 = a5 + lda;
    const int32_t ldb2 = ldb * 2; /* bytes */
    float16x8_t c0 = seed(bias, i), c1 = seed(bias, i + 1), c2 = seed(bias, i + 2);
    float16x8_t c3 = seed(bias, i + 3), c4 = seed(bias, i + 4), c5 = seed(bias, i + 5);
    float16x8_t c6 = seed(bias, i + 6), qb;
    uint32_t t;
    if (k > 0)
        __asm__ volatile("dls lr, %[n]\n"
                         "1:\n\t" MF_MVE_STEP7 "le lr, 1b"
                         : MF_MVE_OPERANDS7
                         : [n] "r"(k), [ldb2] "r"(ldb2)
                         : "lr", "memory");
    const mve_pred16_t all = vctp16q(8);
    put(c, c0, relu, all);
    put(c + ldc, c1, relu, all);
    put(c + 2 * ldc, c2, relu, all);
    put(c + 3 * ldc, c3, relu, all);
    put(c + 4 * ldc, c4, relu, all);
    put(c + 5 * ldc, c5, relu, all);
    put(c + 6 * ldc, c6, relu, all);
}

void mf_gemm_panel_f16_mve(MF_PANEL_ARGS(mf_f16))
{
    int32_t j = 0;
    for (; j + 16 <= n; j += 16) { /* full 16-column blocks */
        int32_t i = 0;
        for (; i + 3 <= m; i += 3)
            tile3x16(a + i * lda, lda, b + j, ldb, c + i * ldc + j, ldc, k, bias, i, relu);
        for (; i < m; ++i) { /* leftover rows */
            const mf_f16 *ar = a + i * lda;
            const mf_f16 *bp = b + j;
            float16x8_t acc0 = seed(bias, i), acc1 = acc0;
            for (int32_t p = 0; p < k; ++p, bp += ldb) {
                const float16_t s = (float16_t)ar[p];
                acc0 = vfmaq_n_f16(acc0, vld1q_f16((const float16_t *)bp), s);
                acc1 = vfmaq_n_f16(acc1, vld1q_f16((const float16_t *)bp + 8), s);
            }
            const mve_pred16_t all = vctp16q(8);
            put(c + i * ldc + j, acc0, relu, all);
            put(c + i * ldc + j + 8, acc1, relu, all);
        }
    }
    for (; j < n; j += 8) { /* column tail: 7 x 8 tile, predicated */
        const mve_pred16_t pj = vctp16q((uint32_t)(n - j));
        int32_t i = 0;
        if (j + 8 <= n) /* full 8 columns: unpredicated assembly tile */
            for (; i + ROWS <= m; i += ROWS)
                tile7x8(a + i * lda, lda, b + j, ldb, c + i * ldc + j, ldc, k, bias, i, relu);
        for (; i + ROWS <= m; i += ROWS) {
            /* one pointer per row, post-incremented: no address arithmetic in the loop */
            const mf_f16 *a0 = a + i * lda, *a1 = a0 + lda, *a2 = a1 + lda, *a3 = a2 + lda;
            const mf_f16 *a4 = a3 + lda, *a5 = a4 + lda, *a6 = a5 + lda;
            const mf_f16 *bp = b + j;
            float16x8_t c0 = seed(bias, i), c1 = seed(bias, i + 1), c2 = seed(bias, i + 2);
            float16x8_t c3 = seed(bias, i + 3), c4 = seed(bias, i + 4), c5 = seed(bias, i + 5);
            float16x8_t c6 = seed(bias, i + 6);
            for (int32_t p = 0; p < k; ++p, bp += ldb) {
                const float16x8_t bv = vldrhq_z_f16((const float16_t *)bp, pj);
                c0 = vfmaq_n_f16(c0, bv, (float16_t)*a0++);
                c1 = vfmaq_n_f16(c1, bv, (float16_t)*a1++);
                c2 = vfmaq_n_f16(c2, bv, (float16_t)*a2++);
                c3 = vfmaq_n_f16(c3, bv, (float16_t)*a3++);
                c4 = vfmaq_n_f16(c4, bv, (float16_t)*a4++);
                c5 = vfmaq_n_f16(c5, bv, (float16_t)*a5++);
                c6 = vfmaq_n_f16(c6, bv, (float16_t)*a6++);
            }
            mf_f16 *cp = c + i * ldc + j;
            put(cp, c0, relu, pj);
            put(cp + ldc, c1, relu, pj);
            put(cp + 2 * ldc, c2, relu, pj);
            put(cp + 3 * ldc, c3, relu, pj);
            put(cp + 4 * ldc, c4, relu, pj);
            put(cp + 5 * ldc, c5, relu, pj);
            put(cp + 6 * ldc, c6, relu, pj);
        }
        if (i + 4 <= m) { /* 4 leftover rows share each B load (the attention row path's PV) */
            const mf_f16 *a0 = a + i * lda, *a1 = a0 + lda, *a2 = a1 + lda, *a3 = a2 + lda;
            const mf_f16 *bp = b + j;
            float16x8_t c0 = seed(bias, i), c1 = seed(bias, i + 1), c2 = seed(bias, i + 2);
            float16x8_t c3 = seed(bias, i + 3);
            for (int32_t p = 0; p < k; ++p, bp += ldb) {
                const float16x8_t bv = vldrhq_z_f16((const float16_t *)bp, pj);
                c0 = vfmaq_n_f16(c0, bv, (float16_t)*a0++);
                c1 = vfmaq_n_f16(c1, bv, (float16_t)*a1++);
                c2 = vfmaq_n_f16(c2, bv, (float16_t)*a2++);
                c3 = vfmaq_n_f16(c3, bv, (float16_t)*a3++);
            }
            mf_f16 *cp = c + i * ldc + j;
            put(cp, c0, relu, pj);
            put(cp + ldc, c1, relu, pj);
            put(cp + 2 * ldc, c2, relu, pj);
            put(cp + 3 * ldc, c3, relu, pj);
            i += 4;
        }
        for (; i < m; ++i) { /* leftover rows */
            const mf_f16 *ar = a + i * lda;
            const mf_f16 *bp = b + j;
            float16x8_t acc = seed(bias, i);
            for (int32_t p = 0; p < k; ++p, bp += ldb)
                acc = vfmaq_n_f16(acc, vldrhq_z_f16((const float16_t *)bp, pj), (float16_t)ar[p]);
            put(c + i * ldc + j, acc, relu, pj);
        }
    }
}

int mf_gemm_f16_mve(const mf_f16 *a, const mf_f16 *b, const mf_f16 *c, mf_f16 *y,
                    const mf_gemm_desc *d)
{
    return mf_gemm_by_panel_f16(a, b, c, y, d, mf_gemm_panel_f16_mve);
}
#endif
