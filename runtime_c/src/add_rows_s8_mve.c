/* int8 add over strided rows for Helium (the contract of mf_add_rows_s8_ref, mf_int8.h): four
 * elements per vector, each input's term gathered from its compile-time table (VLDRW
 * gather, offsets value + 128), summed, and requantised with VMULH (the product's high word,
 * floored) plus 2^(rs - 33) and a shift by rs - 32, which is mf_requant exactly when rs > 32
 * (the usual case); the row tail is predicated. Without tables, or with a larger scale, the
 * reference runs. */
#include "mf_int8_simd.h"

#if defined(__ARM_FEATURE_MVE)
#include <arm_mve.h>

int mf_add_rows_s8_mve(const int8_t *a, const int8_t *b, int8_t *y, const mf_add_rows_s8_desc *d)
{
    if (!a || !b || !y || !d || !d->add.rq.mult || !d->add.rq.shift) return MF_EARG;
    if (d->rows < 0 || d->add.n < 0 || d->a_stride < 0 || d->b_stride < 0 || d->y_stride < 0)
        return MF_ESHAPE;
    const mf_s8_rq_ch q = mf_s8_rq_prepare(&d->add.rq, 0);
    if (!d->a_term || !d->b_term || q.rs <= 32) return mf_add_rows_s8_ref(a, b, y, d);
    const int32x4_t mult = vdupq_n_s32(q.mult), sh = vdupq_n_s32(32 - q.rs);
    const int32x4_t lo = vdupq_n_s32(q.lo), hi = vdupq_n_s32(q.hi);
    const int32_t half = 1 << (q.rs - 33), zp = q.zp, n = d->add.n;
    for (int32_t r = 0; r < d->rows; ++r, a += d->a_stride, b += d->b_stride, y += d->y_stride)
        for (int32_t i = 0; i < n; i += 4) {
            const mve_pred16_t p = vctp32q((uint32_t)(n - i));
            const uint32x4_t oa = vreinterpretq_u32_s32(vaddq_n_s32(vldrbq_z_s32(a + i, p), 128));
            const uint32x4_t ob = vreinterpretq_u32_s32(vaddq_n_s32(vldrbq_z_s32(b + i, p), 128));
            const int32x4_t acc = vaddq_s32(vldrwq_gather_shifted_offset_z_s32(d->a_term, oa, p),
                                            vldrwq_gather_shifted_offset_z_s32(d->b_term, ob, p));
            int32x4_t v = vshlq_s32(vaddq_n_s32(vmulhq_s32(acc, mult), half), sh);
            v = vminq_s32(vmaxq_s32(vaddq_n_s32(v, zp), lo), hi);
            vstrbq_p_s32(y + i, v, p);
        }
    return MF_OK;
}
#endif
