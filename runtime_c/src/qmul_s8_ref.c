/* int8 element-wise product of two activations (mf_int8_vit.h): |(a - za)(b - zb)| <=
 * 255^2, one requantisation. Element j is read before it is written: y may be a or b. */
#include "mf_int8_vit.h"

int mf_mul_s8_ref(const int8_t *a, const int8_t *b, int8_t *y, const mf_mul_s8_desc *d)
{
    if (!a || !b || !y || !d || !d->rq.mult || !d->rq.shift) return MF_EARG;
    if (d->n < 0) return MF_ESHAPE;
    for (int32_t j = 0; j < d->n; ++j) {
        const int32_t p = (a[j] - d->a_zp) * (b[j] - d->b_zp);
        y[j] = mf_clamp_s8(d->rq.out_zp + mf_requant(p, d->rq.mult[0], d->rq.shift[0]), d->rq.act_min, d->rq.act_max);
    }
    return MF_OK;
}
