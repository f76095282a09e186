/* Depthwise and pointwise convolution that stay correct when y == x (mf_conv_inplace.h), so
 * a DS-CNN block runs in one activation buffer. The driver takes the per-channel conv and
 * the GEMM panel as parameters; this file binds the reference ones. */
#include "mf_conv_inplace.h"
#include "mf_elementwise.h"

int mf_conv2d_overwrite_kind(const mf_conv2d_desc *d)
{
    if (d->groups < 1) return MF_OVERWRITE_NONE;
    if (mf_conv2d_is_depthwise(d) && d->h_out * d->w_out <= d->h_in * d->w_in)
        return MF_OVERWRITE_DEPTHWISE;
    /* With c_out > c_in, batch 0's extra channels would land on batch 1's unread input. */
    if (mf_conv2d_is_pointwise(d) && d->groups == 1 && (d->c_out <= d->c_in || d->n == 1))
        return MF_OVERWRITE_POINTWISE;
    return MF_OVERWRITE_NONE;
}

int32_t mf_conv2d_overwrite_scratch_bytes(const mf_conv2d_desc *d, int32_t elem_bytes)
{
    switch (mf_conv2d_overwrite_kind(d)) {
    case MF_OVERWRITE_DEPTHWISE: return d->h_out * d->w_out * elem_bytes;
    case MF_OVERWRITE_POINTWISE: return d->c_out * MF_CONV_OVERWRITE_COLS * elem_bytes;
    default: return 0;
    }
}

/* Channel by channel through one scratch plane: output channel c only covers bytes of input
 * channels <= c (its plane is no larger), which are consumed when it is copied. */
static int depthwise(const float *x, const float *w, const float *bias, float *y, float *plane,
                     const mf_conv2d_desc *d, mf_conv_f32_fn conv)
{
    mf_conv2d_desc one = *d;
    one.n = 1;
    one.c_in = one.c_out = one.groups = 1;
    const int32_t hw_in = d->h_in * d->w_in, hw_out = d->h_out * d->w_out;
    const int32_t kk = d->k_h * d->k_w;
    for (int32_t n = 0; n < d->n; ++n)
        for (int32_t c = 0; c < d->c_out; ++c) {
            const int32_t nc = n * d->c_out + c;
            const int status = conv(x + nc * hw_in, w + c * kk, bias ? bias + c : NULL, plane, &one);
            if (status != MF_OK) return status;
            float *yc = y + nc * hw_out;
            for (int32_t i = 0; i < hw_out; ++i) yc[i] = plane[i];
        }
    return MF_OK;
}

/* Pixel columns [p0, p0 + P) of all channels into a c_out x P tile, then back over the same
 * columns: later tiles read only later columns, which nothing has written yet. */
static void pointwise(const float *x, const float *w, const float *bias, float *y, float *tile,
                      const mf_conv2d_desc *d, mf_panel_f32_fn panel, int32_t cols)
{
    const int32_t hw = d->h_out * d->w_out;
    const int relu = d->act.kind == MF_ACT_RELU;
    const int fused = relu || d->act.kind == MF_ACT_NONE;
    for (int32_t n = 0; n < d->n; ++n) {
        const float *xn = x + n * d->c_in * hw;
        float *yn = y + n * d->c_out * hw;
        for (int32_t p0 = 0; p0 < hw; p0 += cols) {
            const int32_t nc = hw - p0 < cols ? hw - p0 : cols;
            panel(w, d->c_in, xn + p0, hw, tile, cols, d->c_out, nc, d->c_in, bias, relu);
            for (int32_t oc = 0; oc < d->c_out; ++oc) {
                float *t = tile + oc * cols;
                if (!fused) mf_bias_act_f32(t, nc, 0.0f, &d->act);
                float *yr = yn + oc * hw + p0;
                for (int32_t j = 0; j < nc; ++j) yr[j] = t[j];
            }
        }
    }
}

int mf_conv2d_overwrite_f32(const float *x, const float *w, const float *bias, float *y,
                            float *scratch, const mf_conv2d_desc *d, mf_conv_f32_fn plane,
                            mf_panel_f32_fn panel, int32_t cols)
{
    if (!x || !w || !y || !scratch || !d || !plane || !panel || cols < 1) return MF_EARG;
    switch (mf_conv2d_overwrite_kind(d)) {
    case MF_OVERWRITE_DEPTHWISE: return depthwise(x, w, bias, y, scratch, d, plane);
    case MF_OVERWRITE_POINTWISE: pointwise(x, w, bias, y, scratch, d, panel, cols); return MF_OK;
    default: return MF_ESHAPE;
    }
}

int mf_conv2d_overwrite_f32_ref(const float *x, const float *w, const float *bias, float *y,
                                float *scratch, const mf_conv2d_desc *d)
{
    return mf_conv2d_overwrite_f32(x, w, bias, y, scratch, d, mf_conv2d_f32_ref,
                                   mf_gemm_panel_f32_ref, MF_CONV_OVERWRITE_COLS);
}
