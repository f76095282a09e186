/* Convolution backward, FP16 storage and FP32 accumulation, direct loops: the oracle of the
 * FP16 SIMD kernels. bwd_input gathers (one FP32 accumulator per input element, where the
 * FP32 reference scatters); bwd_weight correlates x with dy. */
#include "mf_train.h"

static int check(const mf_conv2d_desc *d)
{
    if (!d || d->groups < 1 || d->stride_h < 1 || d->stride_w < 1) return MF_EARG;
    if (d->c_in % d->groups || d->c_out % d->groups) return MF_ESHAPE;
    return MF_OK;
}

/* The output position o with o * stride - pad + k * dil == i, or -1. */
static int32_t source(int32_t i, int32_t k, int32_t stride, int32_t pad, int32_t dil, int32_t limit)
{
    const int32_t t = i + pad - k * dil;
    if (t < 0 || t % stride) return -1;
    return t / stride < limit ? t / stride : -1;
}

int mf_conv2d_bwd_input_f16_ref(const mf_f16 *dy, const mf_f16 *w, mf_f16 *dx,
                                const mf_conv2d_desc *d)
{
    if (!dy || !w || !dx) return MF_EARG;
    int st = check(d);
    if (st != MF_OK) return st;
    const int32_t cig = d->c_in / d->groups, cog = d->c_out / d->groups;
    const int32_t hw_in = d->h_in * d->w_in, hw_out = d->h_out * d->w_out, kk = d->k_h * d->k_w;
    for (int32_t n = 0; n < d->n; ++n)
        for (int32_t c = 0; c < d->c_in; ++c) {
            const int32_t g = c / cig, ic = c % cig;
            for (int32_t ih = 0; ih < d->h_in; ++ih)
                for (int32_t iw = 0; iw < d->w_in; ++iw) {
                    float acc = 0.0f;
                    for (int32_t kh = 0; kh < d->k_h; ++kh) {
                        const int32_t oh = source(ih, kh, d->stride_h, d->pad_top, d->dil_h, d->h_out);
                        if (oh < 0) continue;
                        for (int32_t kw = 0; kw < d->k_w; ++kw) {
                            const int32_t ow = source(iw, kw, d->stride_w, d->pad_left, d->dil_w, d->w_out);
                            if (ow < 0) continue;
                            for (int32_t oc = g * cog; oc < (g + 1) * cog; ++oc)
                                acc += (float)dy[(n * d->c_out + oc) * hw_out + oh * d->w_out + ow] *
                                       (float)w[(oc * cig + ic) * kk + kh * d->k_w + kw];
                        }
                    }
                    dx[(n * d->c_in + c) * hw_in + ih * d->w_in + iw] = (mf_f16)acc;
                }
        }
    return MF_OK;
}

int mf_conv2d_bwd_weight_f16_ref(const mf_f16 *x, const mf_f16 *dy, mf_f16 *dw, mf_f16 *db,
                                 const mf_conv2d_desc *d)
{
    if (!x || !dy || (!dw && !db)) return MF_EARG;
    int st = check(d);
    if (st != MF_OK) return st;
    const int32_t cig = d->c_in / d->groups, cog = d->c_out / d->groups;
    const int32_t hw_in = d->h_in * d->w_in, hw_out = d->h_out * d->w_out;
    if (db)
        for (int32_t oc = 0; oc < d->c_out; ++oc) {
            float acc = 0.0f;
            for (int32_t n = 0; n < d->n; ++n)
                for (int32_t i = 0; i < hw_out; ++i) acc += (float)dy[(n * d->c_out + oc) * hw_out + i];
            db[oc] = (mf_f16)acc;
        }
    if (!dw) return MF_OK;
    for (int32_t oc = 0; oc < d->c_out; ++oc) {
        const int32_t g = oc / cog;
        for (int32_t ic = 0; ic < cig; ++ic)
            for (int32_t kh = 0; kh < d->k_h; ++kh)
                for (int32_t kw = 0; kw < d->k_w; ++kw) {
                    float acc = 0.0f;
                    for (int32_t n = 0; n < d->n; ++n) {
                        const mf_f16 *xc = x + (n * d->c_in + g * cig + ic) * hw_in;
                        const mf_f16 *dyo = dy + (n * d->c_out + oc) * hw_out;
                        for (int32_t oh = 0; oh < d->h_out; ++oh) {
                            const int32_t ih = oh * d->stride_h - d->pad_top + kh * d->dil_h;
                            if (ih < 0 || ih >= d->h_in) continue;
                            for (int32_t ow = 0; ow < d->w_out; ++ow) {
                                const int32_t iw = ow * d->stride_w - d->pad_left + kw * d->dil_w;
                                if (iw >= 0 && iw < d->w_in)
                                    acc += (float)dyo[oh * d->w_out + ow] * (float)xc[ih * d->w_in + iw];
                            }
                        }
                    }
                    dw[((oc * cig + ic) * d->k_h + kh) * d->k_w + kw] = (mf_f16)acc;
                }
    }
    return MF_OK;
}
