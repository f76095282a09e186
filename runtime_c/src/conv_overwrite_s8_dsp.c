/* int8 pointwise convolution over its own input for Cortex-M4/M7 with the DSP extension
 * (the contract of mf_conv2d_overwrite_s8_ref, mf_int8.h): MF_S8_PW_COLS_DSP pixels at a time,
 * their c_in inputs widened into the int16 panel of mf_gemm_s8_dsp (a pointwise panel is a
 * transpose of x), then all c_out outputs of those pixels by the SMLAD GEMM straight over
 * the consumed input. DS-CNN's pointwise layers run this way in one map. */
#include "mf_int8_simd.h"

static int32_t panel_bytes(const mf_conv2d_s8_desc *d)
{
    return MF_S8_PW_COLS_DSP * mf_s8_k4(d->c_in) * (int32_t)sizeof(int16_t);
}

/* the panel only (8-byte aligned at the scratch's start): the outputs go straight to y */
int32_t mf_conv2d_overwrite_s8_dsp_scratch_bytes(const mf_conv2d_s8_desc *d)
{
    return mf_conv2d_overwrite_s8_pointwise(d) ? panel_bytes(d) : 0;
}

#if defined(__ARM_FEATURE_DSP)
/* Columns [p0, p0 + np) of x (c_in rows of hw) into the panel: four channels of a pixel
 * make one group, stored (x0, x2, x1, x3) as mf_s8_panel_dsp_at lays it out. */
static void fill_pointwise(const int8_t *x, int32_t c_in, int32_t hw, int32_t p0, int32_t np,
                           int16_t *panel)
{
    const int32_t k4 = mf_s8_k4(c_in), kq = c_in >> 2, kt = c_in & 3;
    for (int32_t j = 0; j < np; ++j) {
        /* every column sits in a block of six (the GEMM's blocks6: a last partial block is
         * padded); a column steps 24 int16 from one group to the next */
        const int32_t step = 24;
        int16_t *dst = panel + (j - j % 6) * k4 + (j % 6) * 4;
        const int8_t *src = x + p0 + j;
        for (int32_t g = 0; g < kq; ++g, src += 4 * hw, dst += step) {
            dst[0] = src[0];
            dst[1] = src[2 * hw];
            dst[2] = src[hw];
            dst[3] = src[3 * hw];
        }
        if (kt) {
            int16_t v[4] = {0, 0, 0, 0};
            for (int32_t i = 0; i < kt; ++i) v[i] = src[i * hw];
            dst[0] = v[0];
            dst[1] = v[2];
            dst[2] = v[1];
            dst[3] = v[3];
        }
    }
}

int mf_conv2d_overwrite_s8_dsp(const int8_t *x, const int8_t *w, const int32_t *bias, int8_t *y,
                               const mf_conv2d_s8_desc *d, void *scratch)
{
    if (!x || !w || !y || !d || !scratch || !d->rq.mult || !d->rq.shift) return MF_EARG;
    if (!mf_conv2d_overwrite_s8_pointwise(d)) return MF_ESHAPE;
    int16_t *panel = (int16_t *)scratch;
    const int32_t hw = d->h_in * d->w_in;
    const int32_t plain = mf_s8_rq_plain_dsp(&d->rq, 0, d->c_out);
    for (int32_t n = 0; n < d->n; ++n) {
        const int8_t *xn = x + (size_t)n * d->c_in * hw;
        int8_t *yn = y + (size_t)n * d->c_out * hw;
        for (int32_t p0 = 0; p0 < hw; p0 += MF_S8_PW_COLS_DSP) {
            const int32_t np = hw - p0 < MF_S8_PW_COLS_DSP ? hw - p0 : MF_S8_PW_COLS_DSP;
            fill_pointwise(xn, d->c_in, hw, p0, np, panel);
            /* Every input of these pixels is in the panel now, so their outputs may go
             * straight over x: y[n][oc][p] lies on x[n'][c][p] of the same pixel p, with
             * n' < n (an earlier image, consumed) or n' == n (this panel), because
             * c_out <= c_in or n == 1 (mf_conv2d_overwrite_s8_pointwise). */
            mf_gemm_s8_dsp(w, d->c_in, d->c_out, panel, np, 1, bias, yn + p0, hw, 1, &d->rq, 0, d->w_dsp,
                           plain);
        }
    }
    return MF_OK;
}
#endif
