/* FP32 convolution for cores without float SIMD (Cortex-M4/M7): im2col + the 4x4 register
 * tile of gemm_f32_dsp.c; depthwise runs tap by tap over output rows (no scratch). */
#include "mf_elementwise.h"
#include "mf_fast.h"

/* y row += w * x row over the output columns where the tap lands inside the input. */
static void depthwise_f32(const float *x, const float *w, const float *bias, float *y,
                          const mf_conv2d_desc *d)
{
    const int32_t hw_in = d->h_in * d->w_in, hw_out = d->h_out * d->w_out;
    for (int32_t n = 0; n < d->n; ++n)
        for (int32_t c = 0; c < d->c_out; ++c) {
            const float *xc = x + (n * d->c_in + c) * hw_in;
            const float *wc = w + c * d->k_h * d->k_w;
            float *yc = y + (n * d->c_out + c) * hw_out;
            for (int32_t oh = 0; oh < d->h_out; ++oh) {
                float *yr = yc + oh * d->w_out;
                for (int32_t ow = 0; ow < d->w_out; ++ow) yr[ow] = 0.0f;
                for (int32_t kh = 0; kh < d->k_h; ++kh) {
                    const int32_t ih = oh * d->stride_h - d->pad_top + kh * d->dil_h;
                    if (ih < 0 || ih >= d->h_in) continue;
                    for (int32_t kw = 0; kw < d->k_w; ++kw) {
                        const int32_t iw = kw * d->dil_w - d->pad_left; /* column at ow = 0 */
                        const int32_t s = d->stride_w;
                        int32_t lo = iw >= 0 ? 0 : (-iw + s - 1) / s;
                        int32_t hi = iw < d->w_in ? (d->w_in - 1 - iw) / s + 1 : 0;
                        if (hi > d->w_out) hi = d->w_out;
                        const float wv = wc[kh * d->k_w + kw];
                        const float *xr = xc + ih * d->w_in + iw;
                        for (int32_t ow = lo; ow < hi; ++ow) yr[ow] = MF_FMA(wv, xr[ow * s], yr[ow]);
                    }
                }
            }
            mf_bias_act_f32(yc, hw_out, bias ? bias[c] : 0.0f, &d->act);
        }
}

int mf_conv2d_f32_dsp(const float *x, const float *w, const float *bias, float *y,
                      const mf_conv2d_desc *d, float *scratch)
{
    if (!x || !w || !y || !d || d->groups < 1) return MF_EARG;
    if (mf_conv2d_is_depthwise(d)) {
        depthwise_f32(x, w, bias, y, d);
        return MF_OK;
    }
    return mf_conv2d_im2col_f32(x, w, bias, y, d, scratch, MF_CONV_COLS_DSP, mf_gemm_panel_f32_dsp);
}
