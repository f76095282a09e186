/* Convolution with the residual add fused: y = act(conv(x) + bias + skip), correct when
 * y == skip (mf_conv_inplace.h), so a ResNet block's output takes its skip's buffer and the
 * separate Add (and its read of two full maps) disappears. */
#include "mf_conv_inplace.h"
#include "mf_elementwise.h"

int32_t mf_conv2d_residual_scratch_bytes(const mf_conv2d_desc *d, int32_t elem_bytes,
                                         int32_t cols)
{
    if (d->groups < 1 || cols < 1) return 0;
    const int32_t cog = d->c_out / d->groups;
    const int32_t panel = mf_conv2d_is_pointwise(d) ? 0 : d->c_in / d->groups * d->k_h * d->k_w;
    return (cog + panel) * cols * elem_bytes;
}

/* y = act(tile + skip) over nc pixels of cog channels (tile rows `cols` apart). */
static void add_skip(const float *tile, int32_t cols, const float *skip, float *y, int32_t stride,
                     int32_t cog, int32_t nc, const mf_act *act)
{
    for (int32_t oc = 0; oc < cog; ++oc) {
        const float *t = tile + oc * cols, *s = skip + oc * stride;
        float *yr = y + oc * stride;
        if (act->kind == MF_ACT_RELU) {
            for (int32_t j = 0; j < nc; ++j) {
                const float v = t[j] + s[j];
                yr[j] = v > 0.0f ? v : 0.0f;
            }
        } else {
            for (int32_t j = 0; j < nc; ++j) yr[j] = mf_act_apply_f32(act, t[j] + s[j]);
        }
    }
}

int mf_conv2d_residual_f32(const float *x, const float *w, const float *bias, const float *skip,
                           float *y, float *scratch, const mf_conv2d_desc *d, int32_t cols,
                           mf_panel_f32_fn panel)
{
    if (!x || !w || !skip || !y || !scratch || !d || !panel || d->groups < 1 || cols < 1)
        return MF_EARG;
    if (d->c_in % d->groups || d->c_out % d->groups) return MF_ESHAPE;
    const int pointwise = mf_conv2d_is_pointwise(d);
    const int32_t cig = d->c_in / d->groups, cog = d->c_out / d->groups;
    const int32_t hw_in = d->h_in * d->w_in, hw_out = d->h_out * d->w_out;
    const int32_t k = cig * d->k_h * d->k_w;
    float *tile = scratch, *patches = scratch + cog * cols;
    for (int32_t n = 0; n < d->n; ++n)
        for (int32_t g = 0; g < d->groups; ++g) {
            const float *xg = x + (n * d->c_in + g * cig) * hw_in;
            const float *wg = w + g * cog * k;
            const float *bg = bias ? bias + g * cog : NULL;
            const int32_t out0 = (n * d->c_out + g * cog) * hw_out;
            for (int32_t p0 = 0; p0 < hw_out; p0 += cols) {
                const int32_t nc = hw_out - p0 < cols ? hw_out - p0 : cols;
                if (pointwise) {
                    panel(wg, k, xg + p0, hw_in, tile, cols, cog, nc, k, bg, 0);
                } else {
                    mf_im2col_chunk_f32(xg, d, cig, p0, nc, cols, patches);
                    panel(wg, k, patches, cols, tile, cols, cog, nc, k, bg, 0);
                }
                add_skip(tile, cols, skip + out0 + p0, y + out0 + p0, hw_out, cog, nc, &d->act);
            }
        }
    return MF_OK;
}

int mf_conv2d_residual_f32_ref(const float *x, const float *w, const float *bias,
                               const float *skip, float *y, float *scratch,
                               const mf_conv2d_desc *d)
{
    return mf_conv2d_residual_f32(x, w, bias, skip, y, scratch, d, MF_CONV_COLS_REF,
                                  mf_gemm_panel_f32_ref);
}
