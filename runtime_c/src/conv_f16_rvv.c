/* FP16 convolution for RISC-V vector (RVV 1.0, Zvfh): im2col + the 8-row panel of
 * gemm_f16_rvv.c; depthwise runs along output rows with FP32 accumulators (vfwmacc: the
 * widening is affordable here, depthwise is a small share of the MACs), edge columns that
 * touch the padding in scalar code. VLEN-agnostic; tails by vsetvl. */
#if defined(__riscv_vector)
#include <riscv_vector.h>

#include "mf_elementwise.h"
#include "mf_fast.h"

/* Output columns [lo, hi) whose whole k_w window lies inside the input row. */
static void interior(const mf_conv2d_desc *d, int32_t *lo, int32_t *hi)
{
    const int32_t s = d->stride_w, span = (d->k_w - 1) * d->dil_w;
    int32_t l = (d->pad_left + s - 1) / s;
    int32_t h = d->w_in - 1 - span + d->pad_left >= 0 ? (d->w_in - 1 - span + d->pad_left) / s + 1 : 0;
    if (h > d->w_out) h = d->w_out;
    if (l > h) l = h;
    *lo = l;
    *hi = h;
}

static float pixel(const mf_f16 *xc, const mf_f16 *wc, const mf_conv2d_desc *d, int32_t oh,
                   int32_t ow, float acc)
{
    for (int32_t kh = 0; kh < d->k_h; ++kh) {
        const int32_t ih = oh * d->stride_h - d->pad_top + kh * d->dil_h;
        if (ih < 0 || ih >= d->h_in) continue;
        for (int32_t kw = 0; kw < d->k_w; ++kw) {
            const int32_t iw = ow * d->stride_w - d->pad_left + kw * d->dil_w;
            if (iw >= 0 && iw < d->w_in) acc += (float)wc[kh * d->k_w + kw] * (float)xc[ih * d->w_in + iw];
        }
    }
    return acc;
}

static void depthwise(const mf_f16 *x, const mf_f16 *w, const mf_f16 *bias, mf_f16 *y,
                      const mf_conv2d_desc *d)
{
    const int32_t hw_in = d->h_in * d->w_in, hw_out = d->h_out * d->w_out;
    const int relu = d->act.kind == MF_ACT_RELU;
    int32_t lo, hi;
    interior(d, &lo, &hi);
    for (int32_t n = 0; n < d->n; ++n)
        for (int32_t c = 0; c < d->c_out; ++c) {
            const mf_f16 *xc = x + (n * d->c_in + c) * hw_in;
            const mf_f16 *wc = w + c * d->k_h * d->k_w;
            mf_f16 *yc = y + (n * d->c_out + c) * hw_out;
            const float b = bias ? (float)bias[c] : 0.0f;
            for (int32_t oh = 0; oh < d->h_out; ++oh) {
                mf_f16 *yr = yc + oh * d->w_out;
                for (int32_t ow = 0; ow < lo; ++ow) yr[ow] = (mf_f16)pixel(xc, wc, d, oh, ow, b);
                for (int32_t ow = hi; ow < d->w_out; ++ow) yr[ow] = (mf_f16)pixel(xc, wc, d, oh, ow, b);
                for (int32_t ow = lo; ow < hi;) {
                    const size_t vl = __riscv_vsetvl_e16m2((size_t)(hi - ow));
                    vfloat32m4_t acc = __riscv_vfmv_v_f_f32m4(b, vl);
                    for (int32_t kh = 0; kh < d->k_h; ++kh) {
                        const int32_t ih = oh * d->stride_h - d->pad_top + kh * d->dil_h;
                        if (ih < 0 || ih >= d->h_in) continue;
                        const mf_f16 *xr = xc + ih * d->w_in + ow * d->stride_w - d->pad_left;
                        for (int32_t kw = 0; kw < d->k_w; ++kw) {
                            const _Float16 *src = (const _Float16 *)(xr + kw * d->dil_w);
                            const vfloat16m2_t xv = d->stride_w == 1
                                ? __riscv_vle16_v_f16m2(src, vl)
                                : __riscv_vlse16_v_f16m2(src, (ptrdiff_t)(d->stride_w * 2), vl);
                            acc = __riscv_vfwmacc_vf_f32m4(acc, wc[kh * d->k_w + kw], xv, vl);
                        }
                    }
                    vfloat16m2_t out = __riscv_vfncvt_f_f_w_f16m2(acc, vl);
                    if (relu) out = __riscv_vfmax_vf_f16m2(out, (mf_f16)0.0f, vl);
                    __riscv_vse16_v_f16m2((_Float16 *)(yr + ow), out, vl);
                    ow += (int32_t)vl;
                }
                if (relu)
                    for (int32_t ow = 0; ow < d->w_out; ++ow)
                        if (ow < lo || ow >= hi) yr[ow] = yr[ow] > (mf_f16)0.0f ? yr[ow] : (mf_f16)0.0f;
            }
            if (!relu && d->act.kind != MF_ACT_NONE) mf_bias_act_f16(yc, hw_out, 0.0f, &d->act);
        }
}

int mf_conv2d_f16_rvv(const mf_f16 *x, const mf_f16 *w, const mf_f16 *bias, mf_f16 *y,
                      const mf_conv2d_desc *d, mf_f16 *scratch)
{
    if (!x || !w || !y || !d || d->groups < 1) return MF_EARG;
    if (mf_conv2d_is_depthwise(d)) {
        depthwise(x, w, bias, y, d);
        return MF_OK;
    }
    return mf_conv2d_im2col_f16(x, w, bias, y, d, scratch, MF_CONV_COLS_RVV, mf_gemm_panel_f16_rvv);
}
#endif
