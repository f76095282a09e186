/* Direct 2-D convolution, FP16 storage, FP32 arithmetic (see mf_f16.h). Padding is handled by clipping the kernel window
 * per output position, so the inner loops carry no bounds checks. */
#include "mf_f16.h"
#include "mf_elementwise.h"
#include "mf_f16.h"

static int32_t first_valid(int32_t base, int32_t dil)
{ /* smallest k with base + k*dil >= 0 */
    if (base >= 0) return 0;
    return (-base + dil - 1) / dil;
}

static int32_t end_valid(int32_t base, int32_t dil, int32_t k, int32_t limit)
{ /* one past the largest k < K with base + k*dil < limit */
    if (base >= limit) return 0;
    int32_t e = (limit - 1 - base) / dil + 1;
    return e < k ? e : k;
}

int mf_conv2d_f16_ref(const mf_f16 *x, const mf_f16 *w, const mf_f16 *bias, mf_f16 *y,
                      const mf_conv2d_desc *d)
{
    if (!x || !w || !y || !d || d->groups < 1) return MF_EARG;
    if (d->c_in % d->groups || d->c_out % d->groups) return MF_ESHAPE;
    const int32_t cig = d->c_in / d->groups, cog = d->c_out / d->groups;
    const int32_t hw_in = d->h_in * d->w_in, hw_out = d->h_out * d->w_out;
    const int32_t kk = d->k_h * d->k_w;
    for (int32_t n = 0; n < d->n; ++n) {
        const mf_f16 *xn = x + n * d->c_in * hw_in;
        mf_f16 *yn = y + n * d->c_out * hw_out;
        for (int32_t oc = 0; oc < d->c_out; ++oc) {
            const int32_t g = oc / cog;
            const mf_f16 *wo = w + oc * cig * kk;
            const mf_f16 *xg = xn + g * cig * hw_in;
            const float b = bias ? bias[oc] : 0.0f;
            mf_f16 *yo = yn + oc * hw_out;
            for (int32_t oh = 0; oh < d->h_out; ++oh) {
                const int32_t ih0 = oh * d->stride_h - d->pad_top;
                const int32_t kh0 = first_valid(ih0, d->dil_h);
                const int32_t kh1 = end_valid(ih0, d->dil_h, d->k_h, d->h_in);
                for (int32_t ow = 0; ow < d->w_out; ++ow) {
                    const int32_t iw0 = ow * d->stride_w - d->pad_left;
                    const int32_t kw0 = first_valid(iw0, d->dil_w);
                    const int32_t kw1 = end_valid(iw0, d->dil_w, d->k_w, d->w_in);
                    float acc = b;
                    for (int32_t ic = 0; ic < cig; ++ic) {
                        const mf_f16 *xc = xg + ic * hw_in;
                        const mf_f16 *wc = wo + ic * kk;
                        for (int32_t kh = kh0; kh < kh1; ++kh) {
                            const mf_f16 *xr = xc + (ih0 + kh * d->dil_h) * d->w_in + iw0;
                            const mf_f16 *wr = wc + kh * d->k_w;
                            for (int32_t kw = kw0; kw < kw1; ++kw) acc += (float)xr[kw * d->dil_w] * (float)wr[kw];
                        }
                    }
                    yo[oh * d->w_out + ow] = mf_act_apply_f32(&d->act, acc);
                }
            }
        }
    }
    return MF_OK;
}
