/* Integer-only LayerNorm (mf_int8_vit.h): an integer square root per row, one 64-bit
 * division per row for the reciprocal, then multiplies and shifts per element. */
#include "mf_int8_vit.h"

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
    if (!x || !gamma || !beta || !y || !d) return MF_EARG;
    if (d->rows < 0 || d->cols < 1 || d->cols > MF_LAYERNORM_S8_MAX_COLS || d->eps_q < 0 ||
        d->g_shift < 0 || d->g_shift > 30)
        return MF_ESHAPE;
    const int32_t c = d->cols, frac = MF_LAYERNORM_S8_FRAC, out_shift = frac + d->g_shift;
    for (int32_t r = 0; r < d->rows; ++r) {
        const int8_t *xr = x + (size_t)r * c;
        int8_t *yr = y + (size_t)r * c;
        int32_t sum = 0;
        for (int32_t j = 0; j < c; ++j) sum += xr[j] - d->in_zp;
        int64_t v = d->eps_q;
        for (int32_t j = 0; j < c; ++j) {
            const int64_t dj = (int64_t)c * (xr[j] - d->in_zp) - sum;
            v += dj * dj;
        }
        if (v < 1) v = 1;
        int32_t h = 0; /* V << 2h in [2^60, 2^62) */
        while ((v << (2 * h)) < ((int64_t)1 << 60)) ++h;
        const int64_t den = mf_isqrt_u64((uint64_t)v << (2 * h)); /* in [2^30, 2^31) */
        const int64_t inv = ((int64_t)1 << 62) / den;
        const int32_t rs = 62 - frac - h; /* >= 8 */
        /* every x of the row is read in the loops above: y may be x */
        for (int32_t j = 0; j < c; ++j) {
            const int64_t dj = (int64_t)c * (xr[j] - d->in_zp) - sum;
            const int64_t n = (dj * inv + ((int64_t)1 << (rs - 1))) >> rs;
            const int64_t acc = n * gamma[j] + ((int64_t)beta[j] << frac);
            const int64_t q = (acc + ((int64_t)1 << (out_shift - 1))) >> out_shift;
            yr[j] = mf_clamp_s8((int32_t)(q < -256 ? -256 : (q > 256 ? 256 : q)) + d->out_zp, -128, 127);
        }
    }
    return MF_OK;
}
