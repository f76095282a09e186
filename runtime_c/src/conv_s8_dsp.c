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

/* the panel, then one pixel's column in int8 (k + 1 bytes, rounded up to 4), then the row offsets of a window */
int32_t mf_conv2d_s8_dsp_scratch_bytes(const mf_conv2d_s8_desc *d)
{
    const int32_t k = d->c_in / d->groups * d->k_h * d->k_w;
    return panel_bytes(d) + mf_s8_k4(k + 1) + d->c_in / d->groups * d->k_h * (int32_t)sizeof(int32_t);
}

#if defined(__ARM_FEATURE_DSP)
#include <arm_acle.h>
#include <string.h>

static inline uint32_t sxtb16_ror8(uint32_t v)
{
    uint32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return r;
}

/* One pixel's im2col column, gathered in natural k order into col (int8): rows[r] is the
 * offset of window row r = (ci, kh) from the window's top-left input element. wide: the
 * window's last row may be read one byte past its end (it is not the last byte of x), so
 * three-tap rows move as one unaligned word; col has room for the extra byte. */
static void gather(const int8_t *xw, const int32_t *rows, int32_t nrows, int32_t k_w,
                   int32_t dil_w, int wide, int8_t *col)
{
    if (k_w == 3 && dil_w == 1 && wide) {
        for (int32_t r = 0; r < nrows; ++r, col += 3) {
            uint32_t v;
            memcpy(&v, xw + rows[r], 4);
            memcpy(col, &v, 4);
        }
    } else if (k_w == 1) {
        for (int32_t r = 0; r < nrows; ++r) col[r] = xw[rows[r]];
    } else {
        for (int32_t r = 0; r < nrows; ++r, col += k_w)
            for (int32_t kw = 0; kw < k_w; ++kw) col[kw] = xw[rows[r] + kw * dil_w];
    }
}

/* The same where the window hangs over the padding: in_zp there. The valid kw range and
 * the valid kh rows are found once per pixel. */
static void gather_edge(const int8_t *xg, const mf_conv2d_s8_desc *d, int32_t cig, int32_t ih0,
                        int32_t iw0, int8_t *col)
{
    const int32_t hw = d->h_in * d->w_in, zp = d->in_zp, dw = d->dil_w;
    int32_t lo = 0, hi = d->k_w;
    while (lo < hi && iw0 + lo * dw < 0) ++lo;
    while (hi > lo && iw0 + (hi - 1) * dw >= d->w_in) --hi;
    for (int32_t ci = 0; ci < cig; ++ci)
        for (int32_t kh = 0; kh < d->k_h; ++kh) {
            const int32_t ih = ih0 + kh * d->dil_h;
            if (ih < 0 || ih >= d->h_in) {
                for (int32_t kw = 0; kw < d->k_w; ++kw) *col++ = (int8_t)zp;
                continue;
            }
            const int8_t *xr = xg + ci * hw + ih * d->w_in + iw0;
            int32_t kw = 0;
            for (; kw < lo; ++kw) *col++ = (int8_t)zp;
            for (; kw < hi; ++kw) *col++ = xr[kw * dw];
            for (; kw < d->k_w; ++kw) *col++ = (int8_t)zp;
        }
}

/* Widens a gathered column into the SMLAD pair layout, four k per LDR + 2 SXTB16 + STRD;
 * step: words from one group of four to the next (the block's column count * 2). */
#define WIDEN(STEP) \
    for (int32_t g = 0; g < k4; g += 4, c += 4, gp += (STEP)) { \
        uint32_t v; \
        memcpy(&v, c, 4); \
        gp[0] = __sxtb16(v); \
        gp[1] = sxtb16_ror8(v); \
    }

/* Columns [p0, p0 + np) of the im2col matrix of one group (xg: its first input channel). */
static void fill_panel(const int8_t *xg, const mf_conv2d_s8_desc *d, int32_t cig, int32_t p0,
                       int32_t np, int16_t *panel, int32_t k, int32_t k4, int8_t *col,
                       const int32_t *rows, const int8_t *x_last)
{
    const int32_t full = np - np % 6, nrows = cig * d->k_h;
    const int32_t ext_h = (d->k_h - 1) * d->dil_h, ext_w = (d->k_w - 1) * d->dil_w;
    int32_t oh = p0 / d->w_out, ow = p0 % d->w_out;
    for (int32_t i = k; i < k4; ++i) col[i] = 0; /* k4 padding: multiplies nothing */
    for (int32_t j = 0; j < np; ++j) {
        const int32_t ih0 = oh * d->stride_h - d->pad_top, iw0 = ow * d->stride_w - d->pad_left;
        if (ih0 >= 0 && ih0 + ext_h < d->h_in && iw0 >= 0 && iw0 + ext_w < d->w_in) {
            const int8_t *xw = xg + ih0 * d->w_in + iw0;
            gather(xw, rows, nrows, d->k_w, d->dil_w, xw + rows[nrows - 1] + ext_w < x_last, col);
        } else {
            gather_edge(xg, d, cig, ih0, iw0, col);
        }
        for (int32_t i = k; i < k4; ++i) col[i] = 0; /* the wide copy may have written one */
        const int8_t *c = col;
        if (j < full) {
            uint32_t *gp = (uint32_t *)(void *)(panel + (j - j % 6) * k4 + (j % 6) * 4);
            WIDEN(12)
        } else {
            uint32_t *gp = (uint32_t *)(void *)(panel + j * k4);
            WIDEN(2)
        }
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
    int8_t *col = (int8_t *)scratch + panel_bytes(d);
    int32_t *rows = (int32_t *)(void *)(col + mf_s8_k4(k + 1)); /* 4-aligned */
    for (int32_t ci = 0; ci < cig; ++ci)
        for (int32_t kh = 0; kh < d->k_h; ++kh)
            rows[ci * d->k_h + kh] = ci * hw_in + kh * d->dil_h * d->w_in;
    const int8_t *x_last = x + d->n * d->c_in * hw_in - 1;
    for (int32_t n = 0; n < d->n; ++n)
        for (int32_t g = 0; g < d->groups; ++g) {
            const int8_t *xg = x + (n * d->c_in + g * cig) * hw_in;
            int8_t *yg = y + (n * d->c_out + g * cog) * p_out;
            for (int32_t p0 = 0; p0 < p_out; p0 += MF_S8_COLS_DSP) {
                const int32_t np = p_out - p0 < MF_S8_COLS_DSP ? p_out - p0 : MF_S8_COLS_DSP;
                fill_panel(xg, d, cig, p0, np, panel, k, k4, col, rows, x_last);
                mf_gemm_s8_dsp(w + g * cog * k, k, cog, panel, np, bias ? bias + g * cog : 0,
                               yg + p0, p_out, 1, &d->rq, g * cog);
            }
        }
    return MF_OK;
}
#endif
