/* int8 element-wise kernels, reference: TFLM-style add, row requantisation (Concat of
 * differing scales), and the model-boundary conversions (float / uint8 <-> int8). */
#include <math.h>

#include "mf_int8.h"

static int8_t rq_one(const mf_requant_s8 *rq, int32_t acc)
{
    return mf_clamp_s8(rq->out_zp + mf_requant(acc, rq->mult[0], rq->shift[0]), rq->act_min, rq->act_max);
}

int mf_add_s8_ref(const int8_t *a, const int8_t *b, int8_t *y, const mf_add_s8_desc *d)
{
    if (!a || !b || !y || !d || !d->rq.mult || !d->rq.shift) return MF_EARG;
    if (d->n < 0 || d->left_shift < 0 || d->left_shift > 22) return MF_ESHAPE;
    for (int32_t i = 0; i < d->n; ++i) {
        /* y may be a or b (in place): both are read before y[i] is written */
        const int32_t sa = mf_requant((a[i] - d->a_zp) * (1 << d->left_shift), d->a_mult, d->a_shift);
        const int32_t sb = mf_requant((b[i] - d->b_zp) * (1 << d->left_shift), d->b_mult, d->b_shift);
        y[i] = rq_one(&d->rq, sa + sb);
    }
    return MF_OK;
}

int mf_requant_s8_ref(const int8_t *x, int8_t *y, const mf_requant_s8_desc *d)
{
    if (!x || !y || !d || !d->rq.mult || !d->rq.shift) return MF_EARG;
    if (d->outer < 0 || d->inner < 0 || d->out_stride < d->inner) return MF_ESHAPE;
    for (int32_t o = 0; o < d->outer; ++o)
        for (int32_t j = 0; j < d->inner; ++j)
            y[(size_t)o * d->out_stride + j] = rq_one(&d->rq, x[(size_t)o * d->inner + j] - d->in_zp);
    return MF_OK;
}

int mf_quantize_s8_ref(const float *x, int8_t *y, const mf_quant_s8_desc *d)
{
    if (!x || !y || !d || !(d->scale > 0.0f)) return MF_EARG;
    for (int32_t i = 0; i < d->n; ++i) {
        const float q = nearbyintf(x[i] / d->scale) + (float)d->zp; /* ties to even */
        y[i] = (int8_t)(q < -128.0f ? -128 : (q > 127.0f ? 127 : (int32_t)q));
    }
    return MF_OK;
}

int mf_dequantize_s8_ref(const int8_t *x, float *y, const mf_quant_s8_desc *d)
{
    if (!x || !y || !d) return MF_EARG;
    for (int32_t i = 0; i < d->n; ++i) y[i] = (float)(x[i] - d->zp) * d->scale;
    return MF_OK;
}

int mf_from_u8_s8_ref(const uint8_t *x, int8_t *y, int32_t n)
{
    if (!x || !y || n < 0) return MF_EARG;
    for (int32_t i = 0; i < n; ++i) y[i] = (int8_t)((int32_t)x[i] - 128);
    return MF_OK;
}

int mf_to_u8_s8_ref(const int8_t *x, uint8_t *y, int32_t n)
{
    if (!x || !y || n < 0) return MF_EARG;
    for (int32_t i = 0; i < n; ++i) y[i] = (uint8_t)((int32_t)x[i] + 128);
    return MF_OK;
}
