/* Integer-only LayerNorm for Helium (mf_int8_vit.h): the row's sum and sum of squares of
 * x - in_zp on 8 int16 lanes (VADDVA, VMLADAVA; the tail by VCTP16 predication), the
 * reference's per-row reciprocal (qnorm_s8_row.inc), then the per-element step on four
 * int32 lanes with the 64-bit products as pairs of words: bit-exact with _ref. */
#include "mf_int8_vit.h"

#if defined(__ARM_FEATURE_MVE)
#include <arm_mve.h>

#include "qnorm_s8_row.inc"

/* (hi * 2^32 + lo + 2^(sh - 1)) >> sh for sh in [1, 62], lane by lane, where the result fits
 * 32 bits: the 64-bit value as a pair of 32-bit lanes, the rounding's carry out of the low
 * word by an unsigned compare. */
static inline int32x4_t round_shift_pair(int32x4_t hi, uint32x4_t lo, int32_t sh)
{
    if (sh > 32) return vshlq_r_s32(vaddq_n_s32(hi, 1 << (sh - 33)), 32 - sh);
    const uint32_t r = 1u << (sh - 1);
    const uint32x4_t lo2 = vaddq_n_u32(lo, r);
    hi = vaddq_m_n_s32(hi, hi, 1, vcmphiq_u32(vdupq_n_u32(r), lo2)); /* carry: lo + r wrapped */
    if (sh == 32) return hi;
    return vorrq_s32(vshlq_r_s32(hi, 32 - sh), vreinterpretq_s32_u32(vshlq_r_u32(lo2, -sh)));
}

/* mf_layernorm_s8_row's per-element step, four lanes at a time, exactly: d_i * inv as
 * d_i * (inv - 2^32) (VMULH, VMUL) plus d_i in the high word, N_i * gamma (VMULH, VMUL) plus
 * beta * 2^F as a pair with its carry, each rounded and shifted by round_shift_pair; the
 * tail by VCTP32 predication. Needs inv <= 2^32 (always) and g_shift >= 2, so that the
 * output before its clamp fits 32 bits. */
static void normalise(const int8_t *xr, const int32_t *gamma, const int32_t *beta, int8_t *yr,
                      const mf_layernorm_s8_desc *d, int32_t sum, int64_t inv, int32_t rs)
{
    const int32_t c = d->cols, os = MF_LAYERNORM_S8_FRAC + d->g_shift;
    const int32_t m = (int32_t)(inv - ((int64_t)1 << 32)); /* in (-2^31, 0] */
    const int32x4_t mv = vdupq_n_s32(m);
    for (int32_t j = 0; j < c; j += 4) { /* the row's sums are complete: y may be x */
        const mve_pred16_t p = vctp32q((uint32_t)(c - j));
        const int32x4_t dj = vsubq_n_s32(vmulq_n_s32(vsubq_n_s32(vldrbq_z_s32(xr + j, p), d->in_zp), c), sum);
        const int32x4_t n = round_shift_pair(vaddq_s32(vmulhq_s32(dj, mv), dj),
                                             vreinterpretq_u32_s32(vmulq_s32(dj, mv)), rs);
        const int32x4_t g = vldrwq_z_s32(gamma + j, p), b = vldrwq_z_s32(beta + j, p);
        const uint32x4_t bl = vreinterpretq_u32_s32(vshlq_n_s32(b, MF_LAYERNORM_S8_FRAC));
        const uint32x4_t lo = vaddq_u32(vreinterpretq_u32_s32(vmulq_s32(n, g)), bl);
        int32x4_t hi = vaddq_s32(vmulhq_s32(n, g), vshrq_n_s32(b, 32 - MF_LAYERNORM_S8_FRAC));
        hi = vaddq_m_n_s32(hi, hi, 1, vcmphiq_u32(bl, lo)); /* carry of the low words' sum */
        int32x4_t q = round_shift_pair(hi, lo, os);
        q = vminq_s32(vmaxq_s32(q, vdupq_n_s32(-256)), vdupq_n_s32(256));
        q = vminq_s32(vmaxq_s32(vaddq_n_s32(q, d->out_zp), vdupq_n_s32(-128)), vdupq_n_s32(127));
        vstrbq_p_s32(yr + j, q, p);
    }
}

int mf_layernorm_s8_mve(const int8_t *x, const int32_t *gamma, const int32_t *beta, int8_t *y,
                        const mf_layernorm_s8_desc *d)
{
    const int st = mf_layernorm_s8_args(x, gamma, beta, y, d);
    if (st != MF_OK) return st;
    for (int32_t r = 0; r < d->rows; ++r) {
        const int8_t *xr = x + (size_t)r * d->cols;
        int32_t sum = 0, sumsq = 0; /* |x| <= 255, cols <= 4096: sumsq < 2^28 */
        for (int32_t j = 0; j < d->cols; j += 8) {
            const mve_pred16_t p = vctp16q((uint32_t)(d->cols - j));
            const int16x8_t v = vsubq_x_n_s16(vldrbq_z_s16(xr + j, p), (int16_t)d->in_zp, p);
            sum = vaddvaq_p_s16(sum, v, p);
            sumsq = vmladavaq_p_s16(sumsq, v, v, p);
        }
        if (d->g_shift < 2) {
            mf_layernorm_s8_row(xr, gamma, beta, y + (size_t)r * d->cols, d, sum, sumsq);
            continue;
        }
        int64_t inv;
        const int32_t rs = mf_layernorm_s8_inv(d, sum, sumsq, &inv);
        normalise(xr, gamma, beta, y + (size_t)r * d->cols, d, sum, inv, rs);
    }
    return MF_OK;
}
#endif
