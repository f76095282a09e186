/* Integer-only LayerNorm for Helium (mf_int8_vit.h): the row's sum and sum of squares of
 * x - in_zp on 8 int16 lanes (VADDVA, VMLADAVA; the tail by VCTP16 predication), then the
 * reference's per-row tail (qnorm_s8_row.inc), so the result is bit-exact with _ref. */
#include "mf_int8_vit.h"

#if defined(__ARM_FEATURE_MVE)
#include <arm_mve.h>

#include "qnorm_s8_row.inc"

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
        mf_layernorm_s8_row(xr, gamma, beta, y + (size_t)r * d->cols, d, sum, sumsq);
    }
    return MF_OK;
}
#endif
