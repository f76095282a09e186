/* int8 convolution for Cortex-M4/M7 with the DSP extension: im2col into an int16 panel of
 * MF_S8_COLS_DSP output pixels (the layout mf_gemm_s8_dsp's SMLAD tile reads, see
 * gemm_s8_dsp.c), then one GEMM per panel over the group's output channels. Pointwise and
 * depthwise run the same way: a pointwise panel is a transpose of x, a depthwise one has
 * k_h * k_w rows per channel. Padding reads in_zp (mf_int8.h). */
#include "mf_int8_simd.h"

static int32_t panel_bytes(const mf_conv2d_s8_desc *d)
{
    const int32_t k = d->c_in / d->groups * d->k_h * d->k_w;
    return MF_S8_COLS_DSP * mf_s8_k4(k) * (int32_t)sizeof(int16_t);
}

int32_t mf_conv2d_s8_dsp_scratch_bytes(const mf_conv2d_s8_desc *d)
{
    return panel_bytes(d);
}

#if defined(__ARM_FEATURE_DSP)

static const int8_t perm[4] = {0, 2, 1, 3}; /* a group of four is stored (b0, b2, b1, b3) */

/* Columns [p0, p0 + np) of the im2col matrix of one group (xg: its first input channel). */
static void fill_panel(const int8_t *xg, const mf_conv2d_s8_desc *d, int32_t cig, int32_t p0,
                       int32_t np, int16_t *panel, int32_t k4)
{
    const int32_t full = np - np % 6, hw = d->h_in * d->w_in, zp = d->in_zp;
    const int32_t ext_h = (d->k_h - 1) * d->dil_h, ext_w = (d->k_w - 1) * d->dil_w;
    int32_t oh = p0 / d->w_out, ow = p0 % d->w_out;
    for (int32_t j = 0; j < np; ++j) {
        const int32_t jb = j < full ? j - j % 6 : j, step = (j < full ? 6 : 1) * 4;
        int16_t *gp = panel + jb * k4 + (j - jb) * 4;
        int32_t q = 0;
        const int32_t ih0 = oh * d->stride_h - d->pad_top, iw0 = ow * d->stride_w - d->pad_left;
        const int inside = ih0 >= 0 && ih0 + ext_h < d->h_in && iw0 >= 0 && iw0 + ext_w < d->w_in;
        for (int32_t ci = 0; ci < cig; ++ci) {
            const int8_t *xc = xg + ci * hw;
            for (int32_t kh = 0; kh < d->k_h; ++kh) {
                const int32_t ih = ih0 + kh * d->dil_h;
                const int row_ok = ih >= 0 && ih < d->h_in;
                const int8_t *xr = xc + ih * d->w_in + iw0;
                for (int32_t kw = 0; kw < d->k_w; ++kw) {
                    const int32_t off = kw * d->dil_w;
                    const int ok = inside || (row_ok && iw0 + off >= 0 && iw0 + off < d->w_in);
                    gp[perm[q]] = (int16_t)(ok ? xr[off] : zp);
                    if (++q == 4) {
                        q = 0;
                        gp += step;
                    }
                }
            }
        }
        for (; q != 0 && q < 4; ++q) gp[perm[q]] = 0; /* k4 padding: multiplies nothing */
        if (++ow == d->w_out) {
            ow = 0;
            ++oh;
        }
    }
}

int mf_conv2d_s8_dsp(const int8_t *x, const int8_t *w, const int32_t *bias, int8_t *y,
                     const mf_conv2d_s8_desc *d, void *scratch)
{
    if (!mf_s8_conv_args_ok(x, w, y, d) || !scratch) return MF_EARG;
    const int32_t cig = d->c_in / d->groups, cog = d->c_out / d->groups;
    const int32_t k = cig * d->k_h * d->k_w, k4 = mf_s8_k4(k);
    const int32_t hw_in = d->h_in * d->w_in, p_out = d->h_out * d->w_out;
    int16_t *panel = (int16_t *)scratch;
    for (int32_t n = 0; n < d->n; ++n)
        for (int32_t g = 0; g < d->groups; ++g) {
            const int8_t *xg = x + (n * d->c_in + g * cig) * hw_in;
            int8_t *yg = y + (n * d->c_out + g * cog) * p_out;
            for (int32_t p0 = 0; p0 < p_out; p0 += MF_S8_COLS_DSP) {
                const int32_t np = p_out - p0 < MF_S8_COLS_DSP ? p_out - p0 : MF_S8_COLS_DSP;
                fill_panel(xg, d, cig, p0, np, panel, k4);
                mf_gemm_s8_dsp(w + g * cog * k, k, cog, panel, np, bias ? bias + g * cog : 0,
                               yg + p0, p_out, 1, &d->rq, g * cog);
            }
        }
    return MF_OK;
}
#endif
