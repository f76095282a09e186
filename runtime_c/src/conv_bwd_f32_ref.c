/* Convolution backward, FP32 reference, direct loops (the forward's window clipping).
 * bwd_input scatters each output gradient over its window; bwd_weight correlates x with dy. */
#include <string.h>

#include "mf_train.h"

static int32_t first_valid(int32_t base, int32_t dil)
{
    if (base >= 0) return 0;
    return (-base + dil - 1) / dil;
}

static int32_t end_valid(int32_t base, int32_t dil, int32_t k, int32_t limit)
{
    if (base >= limit) return 0;
    int32_t e = (limit - 1 - base) / dil + 1;
    return e < k ? e : k;
}

static int check(const mf_conv2d_desc *d)
{
    if (!d || d->groups < 1) return MF_EARG;
    if (d->c_in % d->groups || d->c_out % d->groups) return MF_ESHAPE;
    return MF_OK;
}

int mf_conv2d_bwd_input_f32_ref(const float *dy, const float *w, float *dx,
                                const mf_conv2d_desc *d)
{
    if (!dy || !w || !dx) return MF_EARG;
    int st = check(d);
    if (st != MF_OK) return st;
    const int32_t cig = d->c_in / d->groups, cog = d->c_out / d->groups;
    const int32_t hw_in = d->h_in * d->w_in, hw_out = d->h_out * d->w_out;
    const int32_t kk = d->k_h * d->k_w;
    memset(dx, 0, sizeof(float) * (size_t)(d->n * d->c_in * hw_in));
    for (int32_t n = 0; n < d->n; ++n) {
        float *dxn = dx + n * d->c_in * hw_in;
        const float *dyn = dy + n * d->c_out * hw_out;
        for (int32_t oc = 0; oc < d->c_out; ++oc) {
            const int32_t g = oc / cog;
            const float *wo = w + oc * cig * kk;
            float *dxg = dxn + g * cig * hw_in;
            const float *dyo = dyn + oc * hw_out;
            for (int32_t oh = 0; oh < d->h_out; ++oh) {
                const int32_t ih0 = oh * d->stride_h - d->pad_top;
                const int32_t kh0 = first_valid(ih0, d->dil_h);
                const int32_t kh1 = end_valid(ih0, d->dil_h, d->k_h, d->h_in);
                for (int32_t ow = 0; ow < d->w_out; ++ow) {
                    const int32_t iw0 = ow * d->stride_w - d->pad_left;
                    const int32_t kw0 = first_valid(iw0, d->dil_w);
                    const int32_t kw1 = end_valid(iw0, d->dil_w, d->k_w, d->w_in);
                    const float g_out = dyo[oh * d->w_out + ow];
                    for (int32_t ic = 0; ic < cig; ++ic) {
                        float *dxc = dxg + ic * hw_in;
                        const float *wc = wo + ic * kk;
                        for (int32_t kh = kh0; kh < kh1; ++kh) {
                            float *dxr = dxc + (ih0 + kh * d->dil_h) * d->w_in + iw0;
                            const float *wr = wc + kh * d->k_w;
                            for (int32_t kw = kw0; kw < kw1; ++kw) dxr[kw * d->dil_w] += g_out * wr[kw];
                        }
                    }
                }
            }
        }
    }
    return MF_OK;
}

int mf_conv2d_bwd_weight_f32_ref(const float *x, const float *dy, float *dw, float *db,
                                 const mf_conv2d_desc *d)
{
    if (!x || !dy || (!dw && !db)) return MF_EARG;
    int st = check(d);
    if (st != MF_OK) return st;
    const int32_t cig = d->c_in / d->groups, cog = d->c_out / d->groups;
    const int32_t hw_in = d->h_in * d->w_in, hw_out = d->h_out * d->w_out;
    if (db) {
        for (int32_t oc = 0; oc < d->c_out; ++oc) {
            float acc = 0.0f;
            for (int32_t n = 0; n < d->n; ++n) {
                const float *dyo = dy + (n * d->c_out + oc) * hw_out;
                for (int32_t i = 0; i < hw_out; ++i) acc += dyo[i];
            }
            db[oc] = acc;
        }
    }
    if (!dw) return MF_OK;
    /* One accumulator per weight element: dw[oc][ic][kh][kw] = sum_n,oh,ow dy * x. */
    for (int32_t oc = 0; oc < d->c_out; ++oc) {
        const int32_t g = oc / cog;
        for (int32_t ic = 0; ic < cig; ++ic) {
            for (int32_t kh = 0; kh < d->k_h; ++kh) {
                for (int32_t kw = 0; kw < d->k_w; ++kw) {
                    float acc = 0.0f;
                    for (int32_t n = 0; n < d->n; ++n) {
                        const float *xc = x + (n * d->c_in + g * cig + ic) * hw_in;
                        const float *dyo = dy + (n * d->c_out + oc) * hw_out;
                        for (int32_t oh = 0; oh < d->h_out; ++oh) {
                            const int32_t ih = oh * d->stride_h - d->pad_top + kh * d->dil_h;
                            if (ih < 0 || ih >= d->h_in) continue;
                            for (int32_t ow = 0; ow < d->w_out; ++ow) {
                                const int32_t iw = ow * d->stride_w - d->pad_left + kw * d->dil_w;
                                if (iw < 0 || iw >= d->w_in) continue;
                                acc += dyo[oh * d->w_out + ow] * xc[ih * d->w_in + iw];
                            }
                        }
                    }
                    dw[((oc * cig + ic) * d->k_h + kh) * d->k_w + kw] = acc;
                }
            }
        }
    }
    return MF_OK;
}

int32_t mf_conv2d_bwd_scratch_bytes(const mf_conv2d_desc *d, int32_t elem_bytes, int32_t cols)
{
    if (!d || d->groups < 1) return 0;
    const int depthwise = d->groups > 1 && d->groups == d->c_in && d->groups == d->c_out;
    if (depthwise) return 0; /* direct loops, no panel */
    return (d->c_in / d->groups) * d->k_h * d->k_w * cols * elem_bytes;
}
