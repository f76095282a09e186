/* Pooling backward, FP16 storage: the FP32 reference's window walk, FP32 arithmetic. A
 * gradient element gathers at most k_h*k_w window shares, summed in FP16 on store. */
#include <math.h>
#include <string.h>

#include "mf_train.h"

static int pool_bwd(const mf_f16 *dy, const mf_f16 *x, mf_f16 *dx, const mf_pool2d_desc *d,
                    int is_max)
{
    if (!dy || !dx || !d || (is_max && !x)) return MF_EARG;
    const int32_t hw_in = d->h_in * d->w_in, hw_out = d->h_out * d->w_out;
    memset(dx, 0, sizeof(mf_f16) * (size_t)(d->nc * hw_in));
    for (int32_t c = 0; c < d->nc; ++c) {
        const mf_f16 *xc = is_max ? x + c * hw_in : NULL;
        mf_f16 *dxc = dx + c * hw_in;
        const mf_f16 *dyc = dy + c * hw_out;
        for (int32_t oh = 0; oh < d->h_out; ++oh) {
            for (int32_t ow = 0; ow < d->w_out; ++ow) {
                const int32_t ih0 = oh * d->stride_h - d->pad_top;
                const int32_t iw0 = ow * d->stride_w - d->pad_left;
                const float g = (float)dyc[oh * d->w_out + ow];
                float best = -INFINITY;
                int32_t arg = -1, valid = 0, in_pad = 0;
                for (int32_t kh = 0; kh < d->k_h; ++kh) {
                    const int32_t ih = ih0 + kh * d->dil_h;
                    for (int32_t kw = 0; kw < d->k_w; ++kw) {
                        const int32_t iw = iw0 + kw * d->dil_w;
                        if (ih >= -d->pad_top && ih < d->h_in + d->pad_bottom &&
                            iw >= -d->pad_left && iw < d->w_in + d->pad_right)
                            ++in_pad;
                        if (ih < 0 || ih >= d->h_in || iw < 0 || iw >= d->w_in) continue;
                        ++valid;
                        if (is_max && (arg < 0 || (float)xc[ih * d->w_in + iw] > best)) {
                            best = (float)xc[ih * d->w_in + iw];
                            arg = ih * d->w_in + iw;
                        }
                    }
                }
                if (is_max) {
                    if (arg >= 0) dxc[arg] = (mf_f16)((float)dxc[arg] + g);
                    continue;
                }
                const int32_t div = d->count_include_pad ? in_pad : valid;
                if (div == 0) continue;
                const float share = g / (float)div;
                for (int32_t kh = 0; kh < d->k_h; ++kh) {
                    const int32_t ih = ih0 + kh * d->dil_h;
                    if (ih < 0 || ih >= d->h_in) continue;
                    for (int32_t kw = 0; kw < d->k_w; ++kw) {
                        const int32_t iw = iw0 + kw * d->dil_w;
                        if (iw < 0 || iw >= d->w_in) continue;
                        mf_f16 *p = dxc + ih * d->w_in + iw;
                        *p = (mf_f16)((float)*p + share);
                    }
                }
            }
        }
    }
    return MF_OK;
}

int mf_maxpool2d_bwd_input_f16_ref(const mf_f16 *dy, const mf_f16 *x, mf_f16 *dx,
                                   const mf_pool2d_desc *d)
{
    return pool_bwd(dy, x, dx, d, 1);
}

int mf_avgpool2d_bwd_input_f16_ref(const mf_f16 *dy, mf_f16 *dx, const mf_pool2d_desc *d)
{
    return pool_bwd(dy, NULL, dx, d, 0);
}
