/* int8 pointwise convolution over its own input for Helium (the contract of
 * mf_conv2d_overwrite_s8_ref, mf_int8.h): MF_S8_COLS_MVE pixels at a time, their c_in
 * inputs gathered into an int8 panel with k contiguous per pixel (mf_gemm_s8_mve's B), all
 * c_out outputs of those pixels into scratch by the VMLADAVA GEMM, then over the consumed
 * input. */
#include "mf_int8_simd.h"

/* the panel (MF_S8_COLS_MVE x c_in), then c_out x MF_S8_COLS_MVE outputs */
int32_t mf_conv2d_overwrite_s8_mve_scratch_bytes(const mf_conv2d_s8_desc *d)
{
    return mf_conv2d_overwrite_s8_pointwise(d) ? MF_S8_COLS_MVE * (d->c_in + d->c_out) : 0;
}

#if defined(__ARM_FEATURE_MVE)
int mf_conv2d_overwrite_s8_mve(const int8_t *x, const int8_t *w, const int32_t *bias, int8_t *y,
                               const mf_conv2d_s8_desc *d, void *scratch)
{
    if (!x || !w || !y || !d || !scratch || !d->rq.mult || !d->rq.shift) return MF_EARG;
    if (!mf_conv2d_overwrite_s8_pointwise(d)) return MF_ESHAPE;
    int8_t *panel = (int8_t *)scratch, *tile = panel + MF_S8_COLS_MVE * d->c_in;
    const int32_t hw = d->h_in * d->w_in, c_in = d->c_in;
    for (int32_t n = 0; n < d->n; ++n) {
        const int8_t *xn = x + (size_t)n * c_in * hw;
        int8_t *yn = y + (size_t)n * d->c_out * hw;
        for (int32_t p0 = 0; p0 < hw; p0 += MF_S8_COLS_MVE) {
            const int32_t np = hw - p0 < MF_S8_COLS_MVE ? hw - p0 : MF_S8_COLS_MVE;
            /* a transpose: x's rows are channels, the panel's columns pixels */
            for (int32_t ci = 0; ci < c_in; ++ci) {
                const int8_t *src = xn + (size_t)ci * hw + p0;
                for (int32_t j = 0; j < np; ++j) panel[j * c_in + ci] = src[j];
            }
            mf_gemm_s8_mve(w, c_in, d->c_out, panel, c_in, np, bias, tile, np, 1, &d->rq, 0);
            /* these pixels' inputs are in the panel: their y rows may now overwrite x */
            for (int32_t oc = 0; oc < d->c_out; ++oc)
                memcpy(yn + (size_t)oc * hw + p0, tile + oc * np, (size_t)np);
        }
    }
    return MF_OK;
}
#endif
