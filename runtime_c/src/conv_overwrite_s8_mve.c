/* int8 pointwise convolution over its own input for Helium (the contract of
 * mf_conv2d_overwrite_s8_ref, mf_int8.h): MF_S8_COLS_MVE pixels at a time, their c_in
 * inputs gathered into the interleaved panel of mf_gemm_s8_mve (each panel column is a
 * pixel's c_in values, one channel plane apart: uint16 offsets ci * h * w, four pixels per
 * offset vector), all c_out outputs of those pixels into scratch by the VMLADAVA GEMM, then
 * over the consumed input. */
#include "mf_int8_mve.h"

/* the panel (MF_S8_COLS_MVE x c_in rounded up to 16), c_out x MF_S8_COLS_MVE outputs, then
 * the c_in offsets (rounded up to 16) */
int32_t mf_conv2d_overwrite_s8_mve_scratch_bytes(const mf_conv2d_s8_desc *d)
{
    const int32_t k16 = mf_s8_k16(d->c_in);
    return mf_conv2d_overwrite_s8_pointwise(d)
               ? MF_S8_COLS_MVE * (k16 + d->c_out) + k16 * (int32_t)sizeof(uint16_t) : 0;
}

#if defined(__ARM_FEATURE_MVE)
#include <arm_mve.h>

_Static_assert(MF_S8_COLS_MVE <= 16, "a panel's outputs of one channel are one vector");

int mf_conv2d_overwrite_s8_mve(const int8_t *x, const int8_t *w, const int32_t *bias, int8_t *y,
                               const mf_conv2d_s8_desc *d, void *scratch)
{
    if (!x || !w || !y || !d || !scratch || !d->rq.mult || !d->rq.shift) return MF_EARG;
    if (!mf_conv2d_overwrite_s8_pointwise(d)) return MF_ESHAPE;
    const int32_t hw = d->h_in * d->w_in, c_in = d->c_in, k16 = mf_s8_k16(c_in);
    int8_t *panel = (int8_t *)scratch, *tile = panel + MF_S8_COLS_MVE * k16;
    uint16_t *offs = (uint16_t *)(void *)(tile + MF_S8_COLS_MVE * d->c_out);
    const int vec = (c_in - 1) * hw < 65536; /* uint16 offsets reach every channel plane */
    for (int32_t i = 0; i < k16; ++i) offs[i] = (uint16_t)(vec && i < c_in ? i * hw : 0);
    for (int32_t n = 0; n < d->n; ++n) {
        const int8_t *xn = x + (size_t)n * c_in * hw;
        int8_t *yn = y + (size_t)n * d->c_out * hw;
        for (int32_t p0 = 0; p0 < hw; p0 += MF_S8_COLS_MVE) {
            const int32_t np = hw - p0 < MF_S8_COLS_MVE ? hw - p0 : MF_S8_COLS_MVE;
            for (int32_t j = 0; j < np;) {
                int8_t *col = panel + mf_s8_panel_mve_at(j, 0, k16);
                if (!vec) {
                    for (int32_t ci = 0; ci < c_in; ++ci)
                        panel[mf_s8_panel_mve_at(j, ci, k16)] = xn[(size_t)ci * hw + p0 + j];
                    ++j;
                } else if (j + 4 <= np) {
                    mf_s8_gather_cols4_mve(xn + p0 + j, 1, offs, c_in, col);
                    j += 4;
                } else {
                    mf_s8_gather_col_mve(xn + p0 + j, offs, c_in, col);
                    ++j;
                }
            }
            mf_gemm_s8_mve(w, c_in, d->c_out, panel, np, bias, tile, np, &d->rq, 0);
            /* these pixels' inputs are in the panel: their y rows may now overwrite x */
            const mve_pred16_t p = vctp8q((uint32_t)np); /* np <= 16: one vector a row */
            for (int32_t oc = 0; oc < d->c_out; ++oc)
                vstrbq_p_s8(yn + (size_t)oc * hw + p0, vldrbq_z_s8(tile + oc * np, p), p);
        }
    }
    return MF_OK;
}
#endif
