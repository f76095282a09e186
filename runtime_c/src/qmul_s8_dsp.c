/* int8 product of two activations (mf_mul_s8, mf_int8_vit.h) for Cortex-M4/M7: the product's
 * requantisation as one SMMUL, an add and a shift with constants prepared once per call
 * (qrq_s8.inc); SSAT clamps when there is no activation. Bit-exact with _ref; the
 * reference runs where the prepared form does not apply. */
#include "mf_int8_vit.h"

#if defined(__ARM_FEATURE_DSP)
#include <arm_acle.h>

#include "qrq_s8.inc"

int mf_mul_s8_dsp(const int8_t *a, const int8_t *b, int8_t *y, const mf_mul_s8_desc *d)
{
    if (!a || !b || !y || !d || !d->rq.mult || !d->rq.shift) return MF_EARG;
    if (d->n < 0) return MF_ESHAPE;
    mf_qrq o;
    if (!mf_mul_s8_prepare(d, &o)) return mf_mul_s8_ref(a, b, y, d);
    const int32_t azp = d->a_zp, bzp = d->b_zp, zp = d->rq.out_zp, lo = d->rq.act_min, hi = d->rq.act_max;
    const int32_t n = d->n;
    /* y may be a or b: both are read before y[j] is written */
    if (lo == -128 && hi == 127) {
        for (int32_t j = 0; j < n; ++j) y[j] = (int8_t)__ssat(zp + mf_qrq_apply((a[j] - azp) * (b[j] - bzp), &o), 8);
    } else {
        for (int32_t j = 0; j < n; ++j) y[j] = mf_clamp_s8(zp + mf_qrq_apply((a[j] - azp) * (b[j] - bzp), &o), lo, hi);
    }
    return MF_OK;
}
#endif
