/* int8 softmax for Cortex-M4/M7 (the contract of mf_softmax_s8_ref, mf_int8.h): scalar, but
 * without the per-element 64-bit division: the row's max and smallest value, the exact sum
 * of lut[max - x], the row's output table (softmax_s8_row.inc), then one table load per
 * element. Bit-exact with _ref. */
#include "mf_int8.h"

#if defined(__ARM_FEATURE_DSP)
#include "softmax_s8_row.inc"

int mf_softmax_s8_dsp(const int8_t *x, int8_t *y, const mf_softmax_s8_desc *d)
{
    const int st = mf_softmax_s8_args(x, y, d);
    if (st != MF_OK) return st;
    if (!mf_softmax_s8_walk_ok(d)) return mf_softmax_s8_ref(x, y, d);
    int8_t tab[256];
    const int32_t monotone = mf_softmax_s8_monotone(d->lut);
    for (int32_t r = 0; r < d->rows; ++r) {
        const int8_t *xr = x + (size_t)r * d->cols;
        int8_t *yr = y + (size_t)r * d->cols;
        int32_t mx = -128, mn = 127;
        for (int32_t j = 0; j < d->cols; ++j) {
            mx = xr[j] > mx ? xr[j] : mx;
            mn = xr[j] < mn ? xr[j] : mn;
        }
        int64_t sum = 0;
        for (int32_t j = 0; j < d->cols; ++j) sum += d->lut[mx - xr[j]];
        mf_softmax_s8_table(d, monotone, sum, mx - mn, tab);
        /* y may be x: element j is read before it is written */
        for (int32_t j = 0; j < d->cols; ++j) yr[j] = tab[mx - xr[j]];
    }
    return MF_OK;
}
#endif
