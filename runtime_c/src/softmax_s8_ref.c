/* int8 softmax over the last axis, integers only (mf_int8.h): a compile-time exp table
 * indexed by max - x, an int64 sum, and one rounded division per element. */
#include "mf_int8.h"

int mf_softmax_s8_ref(const int8_t *x, int8_t *y, const mf_softmax_s8_desc *d)
{
    if (!x || !y || !d || !d->lut) return MF_EARG;
    if (d->rows < 0 || d->cols < 1 || d->out_shift > 31) return MF_ESHAPE;
    for (int32_t r = 0; r < d->rows; ++r) {
        const int8_t *xr = x + (size_t)r * d->cols;
        int8_t *yr = y + (size_t)r * d->cols;
        int32_t mx = -128;
        for (int32_t j = 0; j < d->cols; ++j) mx = xr[j] > mx ? xr[j] : mx;
        int64_t sum = 0;
        for (int32_t j = 0; j < d->cols; ++j) sum += d->lut[mx - xr[j]];
        const int64_t den = sum << (31 - d->out_shift); /* sum >= lut[0] > 0 */
        /* y may be x (in place): xr[j] is read before yr[j] is written, and the max and
         * the sum are complete before the first write */
        for (int32_t j = 0; j < d->cols; ++j) {
            const int64_t num = (int64_t)d->lut[mx - xr[j]] * d->out_mult;
            const int64_t q = (num + den / 2) / den;
            yr[j] = mf_clamp_s8((int32_t)(q + d->out_zp), -128, 127);
        }
    }
    return MF_OK;
}
