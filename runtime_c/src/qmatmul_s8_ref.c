/* int8 MatMul of two activations (mf_int8_vit.h): both zero points subtracted, an int32
 * accumulator (|acc| <= k * 255^2 < 2^31 for k < 33,000), one requantisation. */
#include "mf_int8_vit.h"

int mf_matmul_s8_ref(const int8_t *a, const int8_t *b, int8_t *y, const mf_matmul_s8_desc *d)
{
    if (!a || !b || !y || !d || !d->rq.mult || !d->rq.shift) return MF_EARG;
    if (d->batch < 0 || d->m < 0 || d->n < 0 || d->k < 1 || d->k > 33000) return MF_ESHAPE;
    const int32_t mult = d->rq.mult[0], shift = d->rq.shift[0];
    for (int32_t bb = 0; bb < d->batch; ++bb) {
        const int8_t *ab = a + (size_t)bb * d->a_stride;
        const int8_t *bm = b + (size_t)bb * d->b_stride;
        int8_t *yb = y + (size_t)bb * d->m * d->n;
        for (int32_t i = 0; i < d->m; ++i) {
            for (int32_t j = 0; j < d->n; ++j) {
                int32_t acc = 0;
                for (int32_t t = 0; t < d->k; ++t) {
                    const int32_t bv = d->b_trans ? bm[(size_t)j * d->k + t] : bm[(size_t)t * d->n + j];
                    acc += (ab[(size_t)i * d->k + t] - d->a_zp) * (bv - d->b_zp);
                }
                yb[(size_t)i * d->n + j] =
                    mf_clamp_s8(d->rq.out_zp + mf_requant(acc, mult, shift), d->rq.act_min, d->rq.act_max);
            }
        }
    }
    return MF_OK;
}
