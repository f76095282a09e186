/* FP16 GEMM for Arm Helium (MVE, Cortex-M55): outer-product micro-kernel over 8 columns (one
 * Q register of halves), 7 rows of C in 7 accumulators: with the B row that fills the 8 Q
 * registers. Per k: one vldrh of B and, per row, one scalar FP16 load of A and one vfma
 * by scalar: 56 MACs per 15 instructions at best. Column tails by vctp16q predication.
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

void mf_gemm_panel_f16_mve(MF_PANEL_ARGS(mf_f16))
{
    for (int32_t j = 0; j < n; j += 8) {
        const mve_pred16_t pj = vctp16q((uint32_t)(n - j));
        int32_t i = 0;
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
