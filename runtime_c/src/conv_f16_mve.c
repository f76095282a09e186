/* FP16 convolution for Arm Helium (MVE): im2col + the 7-row panel of gemm_f16_mve.c;
 * depthwise is depthwise_f16_mve.c. Accumulates in FP16 (no widening FMA on MVE). */
#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 2)
#include "mf_depthwise.h"
#include "mf_fast.h"

int mf_conv2d_f16_mve(const mf_f16 *x, const mf_f16 *w, const mf_f16 *bias, mf_f16 *y,
                      const mf_conv2d_desc *d, mf_f16 *scratch)
{
    if (!x || !w || !y || !d || d->groups < 1) return MF_EARG;
    if (mf_conv2d_is_depthwise(d)) return mf_depthwise_f16_mve(x, w, bias, y, d, NULL);
    return mf_conv2d_im2col_f16(x, w, bias, y, d, scratch, MF_CONV_COLS_MVE, mf_gemm_panel_f16_mve);
}
#endif
