/* Integer-only LayerNorm for Cortex-M4/M7 (mf_int8_vit.h): the reference's row sums and
 * per-row reciprocal (qnorm_s8_row.inc), then a per-element step without 64-bit variable
 * shifts: d_i * inv as d_i * (inv - 2^32) (SMULL) plus d_i in the high word, rounded by an
 * add with carry and shifted by rs < 32 as two 32-bit shifts; N_i * gamma accumulated onto
 * beta * 2^F (SMLAL); the output shift (>= 33) and its rounding in the high word only; SSAT.
 * Rows whose shifts fall outside those cases (rs >= 32: variance near the top of the
 * range; g_shift < 9) take the reference's step. Bit-exact with _ref. */
#include "mf_int8_vit.h"

#if defined(__ARM_FEATURE_DSP)
#include <arm_acle.h>

#include "qnorm_s8_row.inc"

static void normalise(const int8_t *xr, const int32_t *gamma, const int32_t *beta, int8_t *yr,
                      const mf_layernorm_s8_desc *d, int32_t sum, int64_t inv, int32_t rs)
{
    const int32_t c = d->cols, zp = d->in_zp, out_zp = d->out_zp;
    const int32_t m = (int32_t)(inv - ((int64_t)1 << 32)); /* in (-2^31, 0] */
    const uint32_t r = 1u << (rs - 1);
    const int32_t hs = MF_LAYERNORM_S8_FRAC + d->g_shift - 32, half = 1 << (hs - 1);
    for (int32_t j = 0; j < c; ++j) { /* the row's sums are complete: y may be x */
        const int32_t dj = c * (xr[j] - zp) - sum;
        const int64_t p = (int64_t)dj * m;
        const uint32_t lo = (uint32_t)p + r;
        const int32_t hi = (int32_t)(p >> 32) + dj + (lo < r); /* the carry of the rounding */
        const int32_t n = (int32_t)((lo >> rs) | ((uint32_t)hi << (32 - rs)));
        const int64_t acc = (int64_t)n * gamma[j] + ((int64_t)beta[j] << MF_LAYERNORM_S8_FRAC);
        const int32_t q = ((int32_t)(acc >> 32) + half) >> hs; /* |q| < 2^(31 - g_shift) */
        yr[j] = (int8_t)__ssat(q + out_zp, 8);
    }
}

int mf_layernorm_s8_dsp(const int8_t *x, const int32_t *gamma, const int32_t *beta, int8_t *y,
                        const mf_layernorm_s8_desc *d)
{
    const int st = mf_layernorm_s8_args(x, gamma, beta, y, d);
    if (st != MF_OK) return st;
    for (int32_t r = 0; r < d->rows; ++r) {
        const int8_t *xr = x + (size_t)r * d->cols;
        int32_t sum = 0, sumsq = 0; /* |x| <= 255, cols <= 4096: sumsq < 2^28 */
        for (int32_t j = 0; j < d->cols; ++j) {
            const int32_t v = xr[j] - d->in_zp;
            sum += v;
            sumsq += v * v;
        }
        int64_t inv;
        const int32_t rs = mf_layernorm_s8_inv(d, sum, sumsq, &inv);
        if (rs >= 32 || d->g_shift < 9)
            mf_layernorm_s8_row(xr, gamma, beta, y + (size_t)r * d->cols, d, sum, sumsq);
        else
            normalise(xr, gamma, beta, y + (size_t)r * d->cols, d, sum, inv, rs);
    }
    return MF_OK;
}
#endif
