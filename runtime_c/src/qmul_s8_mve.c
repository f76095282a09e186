/* int8 product of two activations (mf_mul_s8, mf_int8_vit.h) for Helium: eight products per
 * step on int16 lanes (|a - za| <= 255), widened to two int32 halves (VMULLB, VMULLT), each
 * requantised by one VMULH and one rounding VRSHL (qrq_s8.inc); the tail by VCTP16
 * predication. Bit-exact with _ref; the reference runs where the prepared form does not
 * apply. */
#include "mf_int8_vit.h"

#if defined(__ARM_FEATURE_MVE)
#include <arm_mve.h>

#include "qrq_s8.inc"

static inline int32x4_t out4(int32x4_t prod, const mf_qrq *o, const mf_mul_s8_desc *d)
{
    const int32x4_t v = vrshlq_n_s32(vmulhq_s32(vshlq_r_s32(prod, o->pre), vdupq_n_s32(o->mult)), -o->post);
    return vminq_s32(vmaxq_s32(vaddq_n_s32(v, d->rq.out_zp), vdupq_n_s32(d->rq.act_min)), vdupq_n_s32(d->rq.act_max));
}

int mf_mul_s8_mve(const int8_t *a, const int8_t *b, int8_t *y, const mf_mul_s8_desc *d)
{
    if (!a || !b || !y || !d || !d->rq.mult || !d->rq.shift) return MF_EARG;
    if (d->n < 0) return MF_ESHAPE;
    mf_qrq o;
    if (!mf_mul_s8_prepare(d, &o)) return mf_mul_s8_ref(a, b, y, d);
    for (int32_t j = 0; j < d->n; j += 8) { /* y may be a or b: both are loaded before the store */
        const mve_pred16_t p = vctp16q((uint32_t)(d->n - j));
        const int16x8_t va = vsubq_n_s16(vldrbq_z_s16(a + j, p), (int16_t)d->a_zp);
        const int16x8_t vb = vsubq_n_s16(vldrbq_z_s16(b + j, p), (int16_t)d->b_zp);
        const int32x4_t even = out4(vmullbq_int_s16(va, vb), &o, d), odd = out4(vmulltq_int_s16(va, vb), &o, d);
        /* even lanes to the bottom halves, odd lanes to the top ones: lanes in order again */
        const int16x8_t v = vmovntq_s32(vmovnbq_s32(vdupq_n_s16(0), even), odd);
        vstrbq_p_s16(y + j, v, p);
    }
    return MF_OK;
}
#endif
