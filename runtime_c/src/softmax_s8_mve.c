/* int8 softmax for Helium (the contract of mf_softmax_s8_ref, mf_int8.h): the row's max and
 * smallest value on 16 int8 lanes (VMAXV, VMINV), the exact sum of lut[max - x] by a VLDRW
 * gather of four table words at a time accumulated into 64 bits (VADDLVA), the row's
 * output table (softmax_s8_row.inc), then y = tab[max - x] by a VLDRB gather of 16 bytes at
 * a time. Tails by VCTP predication. Bit-exact with _ref. */
#include "mf_int8.h"

#if defined(__ARM_FEATURE_MVE)
#include <arm_mve.h>

#include "softmax_s8_row.inc"

int mf_softmax_s8_mve(const int8_t *x, int8_t *y, const mf_softmax_s8_desc *d)
{
    const int st = mf_softmax_s8_args(x, y, d);
    if (st != MF_OK) return st;
    if (!mf_softmax_s8_walk_ok(d)) return mf_softmax_s8_ref(x, y, d);
    int8_t tab[256];
    const int32_t monotone = mf_softmax_s8_monotone(d->lut);
    const int32_t c = d->cols;
    for (int32_t r = 0; r < d->rows; ++r) {
        const int8_t *xr = x + (size_t)r * c;
        int8_t *yr = y + (size_t)r * c;
        int8_t mx = -128, mn = 127;
        for (int32_t j = 0; j < c; j += 16) {
            const mve_pred16_t p = vctp8q((uint32_t)(c - j));
            const int8x16_t v = vldrbq_z_s8(xr + j, p);
            mx = vmaxvq_p_s8(mx, v, p);
            mn = vminvq_p_s8(mn, v, p);
        }
        int64_t sum = 0;
        for (int32_t j = 0; j < c; j += 4) {
            const mve_pred16_t p = vctp32q((uint32_t)(c - j));
            const int32x4_t dd = vsubq_s32(vdupq_n_s32(mx), vldrbq_z_s32(xr + j, p));
            sum = vaddlvaq_p_s32(sum, vldrwq_gather_shifted_offset_z_s32(d->lut, vreinterpretq_u32_s32(dd), p), p);
        }
        mf_softmax_s8_table(d, monotone, sum, (int32_t)mx - mn, tab);
        const uint8x16_t top = vdupq_n_u8((uint8_t)mx);
        /* y may be x: each vector is loaded before it is stored */
        for (int32_t j = 0; j < c; j += 16) {
            const mve_pred16_t p = vctp8q((uint32_t)(c - j));
            const uint8x16_t dd = vsubq_u8(top, vldrbq_z_u8((const uint8_t *)xr + j, p)); /* max - x mod 256 */
            vstrbq_p_s8(yr + j, vldrbq_gather_offset_z_s8(tab, dd, p), p);
        }
    }
    return MF_OK;
}
#endif
