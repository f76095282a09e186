/* F16 backward micro-kernel and matmul gradients for Arm Helium (MVE, Cortex-M55).
 *
 * Outer product as the forward GEMM (gemm_f16_mve.c): 7 rows of C in 7 accumulators over
 * 8 columns (one Q register), with the B row that fills the 8 Q registers; column tails by
 * vctp16q predication. B rows whose columns are strided (b_cs != 1) are gathered. FP16 accumulators: Helium has no widening FP16 multiply-accumulate. */
#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 2)
#include <arm_mve.h>

#include "mf_train.h"

static inline float16x8_t load_b(const mf_f16 *bp, int32_t b_cs, uint16x8_t offs, mve_pred16_t pj)
{
    return b_cs == 1 ? vldrhq_z_f16((const float16_t *)bp, pj) : vldrhq_gather_shifted_offset_z_f16((const float16_t *)bp, offs, pj);
}

static inline void put(mf_f16 *c, float16x8_t v, float alpha, int accumulate, mve_pred16_t pj)
{
    if (alpha != 1.0f) v = vmulq_n_f16(v, (float16_t)alpha);
    if (accumulate) v = vaddq_f16(v, vldrhq_z_f16((const float16_t *)c, pj));
    vstrhq_p_f16((float16_t *)c, v, pj);
}

void mf_bwd_tile_f16_mve(MF_BWD_TILE_ARGS(mf_f16))
{
    const uint16x8_t offs = vmulq_n_u16(vidupq_n_u16(0, 1), (uint16_t)b_cs); /* gather offsets, in elements */
    for (int32_t j = 0; j < n; j += 8) {
        const mve_pred16_t pj = vctp16q((uint32_t)(n - j));
        const mf_f16 *bj = b + j * b_cs;
        int32_t i = 0;
        for (; i + 7 <= m; i += 7) {
            const mf_f16 *a0 = a + i * a_rs, *a1 = a0 + 1 * a_rs, *a2 = a0 + 2 * a_rs, *a3 = a0 + 3 * a_rs, *a4 = a0 + 4 * a_rs, *a5 = a0 + 5 * a_rs, *a6 = a0 + 6 * a_rs;
            const mf_f16 *bp = bj;
            float16x8_t c0 = vdupq_n_f16((float16_t)0.0f);
            float16x8_t c1 = vdupq_n_f16((float16_t)0.0f);
            float16x8_t c2 = vdupq_n_f16((float16_t)0.0f);
            float16x8_t c3 = vdupq_n_f16((float16_t)0.0f);
            float16x8_t c4 = vdupq_n_f16((float16_t)0.0f);
            float16x8_t c5 = vdupq_n_f16((float16_t)0.0f);
            float16x8_t c6 = vdupq_n_f16((float16_t)0.0f);
            for (int32_t q = 0; q < k; ++q, bp += b_rs) {
                const float16x8_t bv = load_b(bp, b_cs, offs, pj);
                c0 = vfmaq_n_f16(c0, bv, (float16_t)*a0); a0 += a_cs;
                c1 = vfmaq_n_f16(c1, bv, (float16_t)*a1); a1 += a_cs;
                c2 = vfmaq_n_f16(c2, bv, (float16_t)*a2); a2 += a_cs;
                c3 = vfmaq_n_f16(c3, bv, (float16_t)*a3); a3 += a_cs;
                c4 = vfmaq_n_f16(c4, bv, (float16_t)*a4); a4 += a_cs;
                c5 = vfmaq_n_f16(c5, bv, (float16_t)*a5); a5 += a_cs;
                c6 = vfmaq_n_f16(c6, bv, (float16_t)*a6); a6 += a_cs;
            }
            put(c + (i + 0) * c_rs + j, c0, alpha, accumulate, pj);
            put(c + (i + 1) * c_rs + j, c1, alpha, accumulate, pj);
            put(c + (i + 2) * c_rs + j, c2, alpha, accumulate, pj);
            put(c + (i + 3) * c_rs + j, c3, alpha, accumulate, pj);
            put(c + (i + 4) * c_rs + j, c4, alpha, accumulate, pj);
            put(c + (i + 5) * c_rs + j, c5, alpha, accumulate, pj);
            put(c + (i + 6) * c_rs + j, c6, alpha, accumulate, pj);
        }
        for (; i < m; ++i) { /* leftover rows */
            const mf_f16 *ar = a + i * a_rs, *bp = bj;
            float16x8_t acc = vdupq_n_f16((float16_t)0.0f);
            for (int32_t q = 0; q < k; ++q, bp += b_rs, ar += a_cs)
                acc = vfmaq_n_f16(acc, load_b(bp, b_cs, offs, pj), (float16_t)*ar);
            put(c + i * c_rs + j, acc, alpha, accumulate, pj);
        }
    }
}

/* The gather offsets are uint16 element indices: beyond that stride, the reference. */
static int gather_ok(int32_t b_cs) { return b_cs >= 0 && b_cs < 65536 / 8; }

int mf_gemm_bwd_input_f16_mve(const mf_f16 *dy, const mf_f16 *w, mf_f16 *dx, const mf_gemm_bwd_input_desc *d)
{
    if (d && ((d->o_cs != 1 && d->o_rs != 1) || !gather_ok(d->w_rs) || !gather_ok(d->dy_rs)))
        return mf_gemm_bwd_input_f16_ref(dy, w, dx, d);
    return mf_gemm_bwd_input_tiled_f16(dy, w, dx, d, mf_bwd_tile_f16_mve);
}

int mf_gemm_bwd_weight_f16_mve(const mf_f16 *a, const mf_f16 *dy, mf_f16 *dw, mf_f16 *dc,
                               const mf_gemm_bwd_weight_desc *d)
{
    if (d && dw && ((d->w_ns != 1 && d->w_ks != 1) || !gather_ok(d->a_cs)))
        return mf_gemm_bwd_weight_f16_ref(a, dy, dw, dc, d);
    return mf_gemm_bwd_weight_tiled_f16(a, dy, dw, dc, d, mf_bwd_tile_f16_mve);
}
#endif
