/* int8 convolution and fully connected layer, reference (the contract of mf_int8.h).
 * Direct loops with an int32 accumulator per output: what every SIMD variant must match
 * bit for bit. */
#include "mf_int8.h"

static int32_t rq_channel(const mf_requant_s8 *rq, int32_t acc, int32_t oc)
{
    const int32_t i = rq->per_channel ? oc : 0;
    return mf_clamp_s8(rq->out_zp + mf_requant(acc, rq->mult[i], rq->shift[i]), rq->act_min, rq->act_max);
}

int32_t mf_conv2d_s8_ref_scratch_bytes(const mf_conv2d_s8_desc *d)
{
    (void)d;
    return 0;
}

int mf_conv2d_s8_ref(const int8_t *x, const int8_t *w, const int32_t *bias, int8_t *y,
                     const mf_conv2d_s8_desc *d, void *scratch)
{
    (void)scratch;
    if (!x || !w || !y || !d || !d->rq.mult || !d->rq.shift) return MF_EARG;
    if (d->groups < 1 || d->c_in % d->groups || d->c_out % d->groups || d->stride_h < 1 || d->stride_w < 1)
        return MF_ESHAPE;
    const int32_t cig = d->c_in / d->groups, cog = d->c_out / d->groups;
    for (int32_t n = 0; n < d->n; ++n) {
        for (int32_t oc = 0; oc < d->c_out; ++oc) {
            const int32_t g = oc / cog;
            const int8_t *wo = w + (size_t)oc * cig * d->k_h * d->k_w;
            for (int32_t oy = 0; oy < d->h_out; ++oy) {
                for (int32_t ox = 0; ox < d->w_out; ++ox) {
                    int32_t acc = bias ? bias[oc] : 0;
                    for (int32_t ic = 0; ic < cig; ++ic) {
                        const int8_t *xc = x + ((size_t)n * d->c_in + (size_t)g * cig + ic) * d->h_in * d->w_in;
                        const int8_t *wc = wo + (size_t)ic * d->k_h * d->k_w;
                        for (int32_t ky = 0; ky < d->k_h; ++ky) {
                            const int32_t iy = oy * d->stride_h - d->pad_top + ky * d->dil_h;
                            for (int32_t kx = 0; kx < d->k_w; ++kx) {
                                const int32_t ix = ox * d->stride_w - d->pad_left + kx * d->dil_w;
                                const int32_t inside = iy >= 0 && iy < d->h_in && ix >= 0 && ix < d->w_in;
                                /* padding holds the real 0, i.e. in_zp: the bias cancels it */
                                const int32_t v = inside ? xc[iy * d->w_in + ix] : d->in_zp;
                                acc += v * wc[ky * d->k_w + kx];
                            }
                        }
                    }
                    y[(((size_t)n * d->c_out + oc) * d->h_out + oy) * d->w_out + ox] = (int8_t)rq_channel(&d->rq, acc, oc);
                }
            }
        }
    }
    return MF_OK;
}

int32_t mf_fc_s8_ref_scratch_bytes(const mf_fc_s8_desc *d)
{
    (void)d;
    return 0;
}

int mf_fc_s8_ref(const int8_t *a, const int8_t *w, const int32_t *bias, int8_t *y,
                 const mf_fc_s8_desc *d, void *scratch)
{
    (void)scratch;
    if (!a || !w || !y || !d || !d->rq.mult || !d->rq.shift) return MF_EARG;
    if (d->m < 0 || d->n < 0 || d->k < 0) return MF_ESHAPE;
    for (int32_t i = 0; i < d->m; ++i) {
        const int8_t *ar = a + (size_t)i * d->k;
        for (int32_t j = 0; j < d->n; ++j) {
            const int8_t *wr = w + (size_t)j * d->k;
            int32_t acc = bias ? bias[j] : 0;
            for (int32_t k = 0; k < d->k; ++k) acc += ar[k] * wr[k];
            y[(size_t)i * d->n + j] = (int8_t)rq_channel(&d->rq, acc, j);
        }
    }
    return MF_OK;
}
