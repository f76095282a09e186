/* Integer-only LayerNorm (mf_int8_vit.h): an integer square root per row, one 64-bit
 * division per row for the reciprocal, then multiplies and shifts per element. */
#include "mf_int8_vit.h"

#include "qnorm_s8_row.inc"

uint32_t mf_isqrt_u64(uint64_t v)
{
    uint64_t r = 0, bit = (uint64_t)1 << 62;
    while (bit > v) bit >>= 2;
    while (bit) {
        if (v >= r + bit) {
            v -= r + bit;
            r = (r >> 1) + bit;
        } else {
            r >>= 1;
        }
        bit >>= 2;
    }
    return (uint32_t)r;
}

int mf_layernorm_s8_ref(const int8_t *x, const int32_t *gamma, const int32_t *beta, int8_t *y,
                        const mf_layernorm_s8_desc *d)
{
    const int st = mf_layernorm_s8_args(x, gamma, beta, y, d);
    if (st != MF_OK) return st;
    for (int32_t r = 0; r < d->rows; ++r) {
        const int8_t *xr = x + (size_t)r * d->cols;
        int32_t sum = 0;
        int64_t sumsq = 0;
        for (int32_t j = 0; j < d->cols; ++j) {
            const int32_t v = xr[j] - d->in_zp;
            sum += v;
            sumsq += v * v;
        }
        mf_layernorm_s8_row(xr, gamma, beta, y + (size_t)r * d->cols, d, sum, sumsq);
    }
    return MF_OK;
}
