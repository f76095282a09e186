/* The overwrite-safe depthwise/pointwise convolution (see conv_overwrite_f32_ref.c) with
 * FP16 storage and FP32 arithmetic: the f16 reference conv per channel, the f16 reference
 * panel per tile. Shape rules and scratch sizes are the FP32 ones. */
#include "mf_conv_inplace.h"

#if defined(__FLT16_MAX__)
#include "mf_elementwise.h"

static int depthwise(const mf_f16 *x, const mf_f16 *w, const mf_f16 *bias, mf_f16 *y,
                     mf_f16 *plane, const mf_conv2d_desc *d)
{
    mf_conv2d_desc one = *d;
    one.n = 1;
    one.c_in = one.c_out = one.groups = 1;
    const int32_t hw_in = d->h_in * d->w_in, hw_out = d->h_out * d->w_out;
    const int32_t kk = d->k_h * d->k_w;
    for (int32_t n = 0; n < d->n; ++n)
        for (int32_t c = 0; c < d->c_out; ++c) {
            const int32_t nc = n * d->c_out + c;
            const int status = mf_conv2d_f16_ref(x + nc * hw_in, w + c * kk, bias ? bias + c : NULL,
                                                 plane, &one);
            if (status != MF_OK) return status;
            mf_f16 *yc = y + nc * hw_out;
            for (int32_t i = 0; i < hw_out; ++i) yc[i] = plane[i];
        }
    return MF_OK;
}

static void pointwise(const mf_f16 *x, const mf_f16 *w, const mf_f16 *bias, mf_f16 *y,
                      mf_f16 *tile, const mf_conv2d_desc *d)
{
    const int32_t hw = d->h_out * d->w_out, cols = MF_CONV_OVERWRITE_COLS;
    const int relu = d->act.kind == MF_ACT_RELU;
    const int fused = relu || d->act.kind == MF_ACT_NONE;
    for (int32_t n = 0; n < d->n; ++n) {
        const mf_f16 *xn = x + n * d->c_in * hw;
        mf_f16 *yn = y + n * d->c_out * hw;
        for (int32_t p0 = 0; p0 < hw; p0 += cols) {
            const int32_t nc = hw - p0 < cols ? hw - p0 : cols;
            mf_gemm_panel_f16_ref(w, d->c_in, xn + p0, hw, tile, cols, d->c_out, nc, d->c_in, bias, relu);
            for (int32_t oc = 0; oc < d->c_out; ++oc) {
                mf_f16 *t = tile + oc * cols;
                if (!fused) mf_bias_act_f16(t, nc, 0.0f, &d->act);
                mf_f16 *yr = yn + oc * hw + p0;
                for (int32_t j = 0; j < nc; ++j) yr[j] = t[j];
            }
        }
    }
}

int mf_conv2d_overwrite_f16_ref(const mf_f16 *x, const mf_f16 *w, const mf_f16 *bias,
                                mf_f16 *y, mf_f16 *scratch, const mf_conv2d_desc *d)
{
    if (!x || !w || !y || !scratch || !d) return MF_EARG;
    switch (mf_conv2d_overwrite_kind(d)) {
    case MF_OVERWRITE_DEPTHWISE: return depthwise(x, w, bias, y, scratch, d);
    case MF_OVERWRITE_POINTWISE: pointwise(x, w, bias, y, scratch, d); return MF_OK;
    default: return MF_ESHAPE;
    }
}
#endif
