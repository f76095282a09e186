/* FP32 GEMM for Arm Helium (MVE, Cortex-M55): outer-product micro-kernels.
 *
 * Main tile: 3 rows x 8 columns of C in 6 Q accumulators (4 FP32 lanes each) and one Q register
 * for B, reused for both column halves; the three A scalars stay in general registers. Per k:
 * 3 ldr of A (post-incremented), 2 vldrw of B, one add of the B row stride, 6 vfma by scalar:
 * 24 MACs per 12 instructions, K unrolled by 2 under a low-overhead loop (dls/le), in inline
 * assembly as the FP16 tile of gemm_f16_mve.c (clang otherwise rebuilds row addresses per k).
 * Leftover rows of the 8-column blocks: a 1 x 8 tile in C; leftover columns (n % 8): 4-column
 * vectors under vctp32q predication, one row at a time. */
#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 2)
#include <arm_mve.h>

#include "mf_simd_f32.h"

static inline float32x4_t seed(const float *bias, int32_t i)
{
    return vdupq_n_f32(bias ? bias[i] : 0.0f);
}

static inline void put(float *c, float32x4_t v, int relu, mve_pred16_t p)
{
    if (relu) v = vmaxnmq_f32(v, vdupq_n_f32(0.0f));
    vstrwq_p_f32(c, v, p);
}

#define MF_MVE_STEP                                                                          \
    "ldr %[t0], [%[a0]], #4\n\t"                                                           \
    "ldr %[t1], [%[a1]], #4\n\t"                                                           \
    "ldr %[t2], [%[a2]], #4\n\t"                                                           \
    "vldrw.u32 %q[qb], [%[bp]]\n\t"                                                        \
    "vfma.f32 %q[c00], %q[qb], %[t0]\n\t"                                                 \
    "vfma.f32 %q[c10], %q[qb], %[t1]\n\t"                                                 \
    "vfma.f32 %q[c20], %q[qb], %[t2]\n\t"                                                 \
    "vldrw.u32 %q[qb], [%[bp], #16]\n\t"                                                   \
    "add %[bp], %[ldb4]\n\t"                                                                \
    "vfma.f32 %q[c01], %q[qb], %[t0]\n\t"                                                 \
    "vfma.f32 %q[c11], %q[qb], %[t1]\n\t"                                                 \
    "vfma.f32 %q[c21], %q[qb], %[t2]\n\t"

#define MF_MVE_OPERANDS                                                                      \
    [c00] "+w"(c00), [c01] "+w"(c01), [c10] "+w"(c10), [c11] "+w"(c11), [c20] "+w"(c20),   \
        [c21] "+w"(c21), [qb] "=&w"(qb), [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2),   \
        [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [bp] "+r"(bp)

static void tile3x8(const float *a0, int32_t lda, const float *bp, int32_t ldb, float *c,
                    int32_t ldc, int32_t k, const float *bias, int32_t i, int relu)
{
    const float *a1 = a0 + lda, *a2 = a1 + lda;
    const int32_t ldb4 = ldb * 4; /* bytes */
    float32x4_t c00 = seed(bias, i), c01 = c00, c10 = seed(bias, i + 1), c11 = c10;
    float32x4_t c20 = seed(bias, i + 2), c21 = c20, qb;
    uint32_t t0, t1, t2;
    if (k >= 2)
        __asm__ volatile("dls lr, %[n]\n"
                         "1:\n\t" MF_MVE_STEP MF_MVE_STEP "le lr, 1b"
                         : MF_MVE_OPERANDS
                         : [n] "r"(k >> 1), [ldb4] "r"(ldb4)
                         : "lr", "memory");
    if (k & 1)
        __asm__ volatile(MF_MVE_STEP : MF_MVE_OPERANDS : [ldb4] "r"(ldb4) : "memory");
    const mve_pred16_t all = vctp32q(4);
    put(c, c00, relu, all);
    put(c + 4, c01, relu, all);
    put(c + ldc, c10, relu, all);
    put(c + ldc + 4, c11, relu, all);
    put(c + 2 * ldc, c20, relu, all);
    put(c + 2 * ldc + 4, c21, relu, all);
}

void mf_gemm_panel_f32_mve(MF_PANEL_ARGS(float))
{
    int32_t j = 0;
    for (; j + 8 <= n; j += 8) {
        int32_t i = 0;
        for (; i + 3 <= m; i += 3)
            tile3x8(a + i * lda, lda, b + j, ldb, c + i * ldc + j, ldc, k, bias, i, relu);
        for (; i < m; ++i) { /* leftover rows */
            const float *ar = a + i * lda, *bp = b + j;
            float32x4_t acc0 = seed(bias, i), acc1 = acc0;
            for (int32_t p = 0; p < k; ++p, bp += ldb) {
                acc0 = vfmaq_n_f32(acc0, vld1q_f32(bp), ar[p]);
                acc1 = vfmaq_n_f32(acc1, vld1q_f32(bp + 4), ar[p]);
            }
            const mve_pred16_t all = vctp32q(4);
            put(c + i * ldc + j, acc0, relu, all);
            put(c + i * ldc + j + 4, acc1, relu, all);
        }
    }
    for (; j < n; j += 4) { /* column tail, predicated */
        const mve_pred16_t pj = vctp32q((uint32_t)(n - j));
        for (int32_t i = 0; i < m; ++i) {
            const float *ar = a + i * lda, *bp = b + j;
            float32x4_t acc = seed(bias, i);
            for (int32_t p = 0; p < k; ++p, bp += ldb) acc = vfmaq_n_f32(acc, vldrwq_z_f32(bp, pj), ar[p]);
            put(c + i * ldc + j, acc, relu, pj);
        }
    }
}

int mf_gemm_f32_mve(const float *a, const float *b, const float *c, float *y,
                    const mf_gemm_desc *d)
{
    return mf_gemm_by_panel_f32(a, b, c, y, d, mf_gemm_panel_f32_mve);
}
#endif
