/* 2-D max and average pooling, FP16 reference (FP32 arithmetic, see mf_f16.h). */
#include <math.h>

#include "mf_f16.h"

static int pool(const mf_f16 *x, mf_f16 *y, const mf_pool2d_desc *d, int is_max)
{
    if (!x || !y || !d) return MF_EARG;
    const int32_t hw_in = d->h_in * d->w_in, hw_out = d->h_out * d->w_out;
    for (int32_t c = 0; c < d->nc; ++c) {
        const mf_f16 *xc = x + c * hw_in;
        mf_f16 *yc = y + c * hw_out;
        for (int32_t oh = 0; oh < d->h_out; ++oh) {
            for (int32_t ow = 0; ow < d->w_out; ++ow) {
                const int32_t ih0 = oh * d->stride_h - d->pad_top;
                const int32_t iw0 = ow * d->stride_w - d->pad_left;
                float acc = is_max ? -INFINITY : 0.0f;
                int32_t valid = 0, in_pad = 0;
                for (int32_t kh = 0; kh < d->k_h; ++kh) {
                    const int32_t ih = ih0 + kh * d->dil_h;
                    for (int32_t kw = 0; kw < d->k_w; ++kw) {
                        const int32_t iw = iw0 + kw * d->dil_w;
                        if (ih >= -d->pad_top && ih < d->h_in + d->pad_bottom &&
                            iw >= -d->pad_left && iw < d->w_in + d->pad_right)
                            ++in_pad;
                        if (ih < 0 || ih >= d->h_in || iw < 0 || iw >= d->w_in) continue;
                        const float v = xc[ih * d->w_in + iw];
                        ++valid;
                        if (is_max) acc = v > acc ? v : acc;
                        else acc += v;
                    }
                }
                if (!is_max) {
                    const int32_t div = d->count_include_pad ? in_pad : valid;
                    acc = div > 0 ? acc / (float)div : 0.0f;
                }
                yc[oh * d->w_out + ow] = acc;
            }
        }
    }
    return MF_OK;
}

int mf_maxpool2d_f16_ref(const mf_f16 *x, mf_f16 *y, const mf_pool2d_desc *d)
{
    return pool(x, y, d, 1);
}

int mf_avgpool2d_f16_ref(const mf_f16 *x, mf_f16 *y, const mf_pool2d_desc *d)
{
    return pool(x, y, d, 0);
}
