/* FP16 convolution for Arm Helium (MVE): im2col + the 7-row panel of gemm_f16_mve.c.
 * Depthwise (a small share of the MACs) uses the FP16 im2col driver too, one group per
 * channel; a direct vector depthwise is still to do. Accumulates in FP16 (no widening FMA
 * on MVE). */
#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 2)
#include "mf_fast.h"

int mf_conv2d_f16_mve(const mf_f16 *x, const mf_f16 *w, const mf_f16 *bias, mf_f16 *y,
                      const mf_conv2d_desc *d, mf_f16 *scratch)
{
    if (!x || !w || !y || !d || d->groups < 1) return MF_EARG;
    if (mf_conv2d_is_depthwise(d)) return mf_conv2d_f16_ref(x, w, bias, y, d);
    return mf_conv2d_im2col_f16(x, w, bias, y, d, scratch, MF_CONV_COLS_MVE, mf_gemm_panel_f16_mve);
}
#endif
