/* int8 convolution fused with the residual Add after it, reference (mf_int8.h). The same
 * arithmetic as mf_conv2d_s8_ref then mf_add_s8_ref, element by element, so the result is
 * bit-exact with the two separate kernels while the conv's output never exists as a map. */
#include "mf_int8.h"

static int8_t add_one(const mf_add_s8_desc *d, int32_t a, int32_t b)
{
    const int32_t sa = mf_requant((a - d->a_zp) * (1 << d->left_shift), d->a_mult, d->a_shift);
    const int32_t sb = mf_requant((b - d->b_zp) * (1 << d->left_shift), d->b_mult, d->b_shift);
    return mf_clamp_s8(d->rq.out_zp + mf_requant(sa + sb, d->rq.mult[0], d->rq.shift[0]), d->rq.act_min,
                       d->rq.act_max);
}

int mf_conv2d_add_s8_ref(const int8_t *x, const int8_t *w, const int32_t *bias, const int8_t *skip, int8_t *y,
                         const mf_conv2d_s8_desc *d, const mf_add_s8_desc *add, int32_t conv_is_a)
{
    if (!x || !w || !skip || !y || !d || !add || !d->rq.mult || !d->rq.shift || !add->rq.mult || !add->rq.shift)
        return MF_EARG;
    if (d->groups < 1 || d->c_in % d->groups || d->c_out % d->groups || d->stride_h < 1 || d->stride_w < 1 ||
        add->left_shift < 0 || add->left_shift > 22)
        return MF_ESHAPE;
    const int32_t cig = d->c_in / d->groups, cog = d->c_out / d->groups;
    for (int32_t n = 0; n < d->n; ++n) {
        for (int32_t oc = 0; oc < d->c_out; ++oc) {
            const int32_t g = oc / cog;
            const int8_t *wo = w + (size_t)oc * cig * d->k_h * d->k_w;
            const int32_t q = d->rq.per_channel ? oc : 0;
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
                                acc += (inside ? xc[iy * d->w_in + ix] : d->in_zp) * wc[ky * d->k_w + kx];
                            }
                        }
                    }
                    const int32_t c = mf_clamp_s8(d->rq.out_zp + mf_requant(acc, d->rq.mult[q], d->rq.shift[q]),
                                                  d->rq.act_min, d->rq.act_max);
                    const size_t i = (((size_t)n * d->c_out + oc) * d->h_out + oy) * d->w_out + ox;
                    y[i] = conv_is_a ? add_one(add, c, skip[i]) : add_one(add, skip[i], c);
                }
            }
        }
    }
    return MF_OK;
}
