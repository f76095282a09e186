/* int8 convolution for Helium (Cortex-M55 MVE): im2col into an int8 panel of
 * MF_S8_COLS_MVE output pixels, one pixel's column (k contiguous, the weights' OIHW order)
 * after another, then the VMLADAVA GEMM of gemm_s8_mve.c over the group's output channels.
 * Regular, pointwise (the panel is a transpose of x) and depthwise (groups == c_in == c_out:
 * k_h * k_w taps per channel) convolutions all run this way; padding reads in_zp. */
#include <string.h>

#include "mf_int8_simd.h"

int32_t mf_conv2d_s8_mve_scratch_bytes(const mf_conv2d_s8_desc *d)
{
    return MF_S8_COLS_MVE * (d->c_in / d->groups * d->k_h * d->k_w);
}

#if defined(__ARM_FEATURE_MVE)

/* One pixel's column where the window lies inside the input: per window row (ci, kh), k_w
 * taps from xw + (ci * h_in + kh * dil_h) * w_in. */
static void gather(const int8_t *xw, const mf_conv2d_s8_desc *d, int32_t cig, int32_t hw,
                   int8_t *col)
{
    const int32_t dw = d->dil_w, kw_n = d->k_w, row = d->dil_h * d->w_in;
    for (int32_t ci = 0; ci < cig; ++ci)
        for (int32_t kh = 0; kh < d->k_h; ++kh) {
            const int8_t *s = xw + ci * hw + kh * row;
            if (dw == 1) {
                memcpy(col, s, (size_t)kw_n);
            } else {
                for (int32_t kw = 0; kw < kw_n; ++kw) col[kw] = s[kw * dw];
            }
            col += kw_n;
        }
}

/* The same where the window hangs over the padding: in_zp there. */
static void gather_edge(const int8_t *xg, const mf_conv2d_s8_desc *d, int32_t cig, int32_t hw,
                        int32_t ih0, int32_t iw0, int8_t *col)
{
    const int32_t dw = d->dil_w;
    int32_t lo = 0, hi = d->k_w;
    while (lo < hi && iw0 + lo * dw < 0) ++lo;
    while (hi > lo && iw0 + (hi - 1) * dw >= d->w_in) --hi;
    for (int32_t ci = 0; ci < cig; ++ci)
        for (int32_t kh = 0; kh < d->k_h; ++kh) {
            const int32_t ih = ih0 + kh * d->dil_h;
            const int ok = ih >= 0 && ih < d->h_in;
            const int8_t *xr = xg + ci * hw + ih * d->w_in + iw0;
            for (int32_t kw = 0; kw < d->k_w; ++kw)
                *col++ = (int8_t)(ok && kw >= lo && kw < hi ? xr[kw * dw] : d->in_zp);
        }
}

int mf_conv2d_s8_mve(const int8_t *x, const int8_t *w, const int32_t *bias, int8_t *y,
                     const mf_conv2d_s8_desc *d, void *scratch)
{
    if (!mf_s8_conv_args_ok(x, w, y, d) || !scratch) return MF_EARG;
    const int32_t cig = d->c_in / d->groups, cog = d->c_out / d->groups;
    const int32_t k = cig * d->k_h * d->k_w;
    const int32_t hw_in = d->h_in * d->w_in, p_out = d->h_out * d->w_out;
    const int32_t ext_h = (d->k_h - 1) * d->dil_h, ext_w = (d->k_w - 1) * d->dil_w;
    int8_t *panel = (int8_t *)scratch;
    for (int32_t n = 0; n < d->n; ++n)
        for (int32_t g = 0; g < d->groups; ++g) {
            const int8_t *xg = x + (n * d->c_in + g * cig) * hw_in;
            int8_t *yg = y + (n * d->c_out + g * cog) * p_out;
            for (int32_t p0 = 0; p0 < p_out; p0 += MF_S8_COLS_MVE) {
                const int32_t np = p_out - p0 < MF_S8_COLS_MVE ? p_out - p0 : MF_S8_COLS_MVE;
                int32_t oh = p0 / d->w_out, ow = p0 % d->w_out;
                for (int32_t j = 0; j < np; ++j) {
                    const int32_t ih0 = oh * d->stride_h - d->pad_top;
                    const int32_t iw0 = ow * d->stride_w - d->pad_left;
                    if (ih0 >= 0 && ih0 + ext_h < d->h_in && iw0 >= 0 && iw0 + ext_w < d->w_in)
                        gather(xg + ih0 * d->w_in + iw0, d, cig, hw_in, panel + j * k);
                    else
                        gather_edge(xg, d, cig, hw_in, ih0, iw0, panel + j * k);
                    if (++ow == d->w_out) {
                        ow = 0;
                        ++oh;
                    }
                }
                mf_gemm_s8_mve(w + g * cog * k, k, cog, panel, k, np, bias ? bias + g * cog : 0,
                               yg + p0, p_out, 1, &d->rq, g * cog);
            }
        }
    return MF_OK;
}
#endif
