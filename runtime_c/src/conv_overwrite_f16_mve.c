/* The overwrite-safe FP16 convolution (mf_conv_inplace.h) for Arm Helium (MVE): depthwise through
 * depthwise_f16_mve.c (over its input via a plane copy in the scratch), pointwise tiles on the
 * panels of gemm_f16_mve.c. Same scratch as the reference. */
#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 2)
#include "mf_depthwise.h"
#include "mf_conv_inplace.h"

static int depthwise_plane(const mf_f16 *x, const mf_f16 *w, const mf_f16 *bias, mf_f16 *y,
                           const mf_conv2d_desc *d)
{
    return mf_depthwise_f16_mve(x, w, bias, y, d, NULL);
}

int mf_conv2d_overwrite_f16_mve(const mf_f16 *x, const mf_f16 *w, const mf_f16 *bias,
                                mf_f16 *y, mf_f16 *scratch, const mf_conv2d_desc *d)
{
    if (d && mf_conv2d_overwrite_kind(d) == MF_OVERWRITE_DEPTHWISE)
        return mf_depthwise_f16_mve(x, w, bias, y, d, scratch);
    return mf_conv2d_overwrite_f16(x, w, bias, y, scratch, d, depthwise_plane,
                                   mf_gemm_panel_f16_mve, MF_CONV_OVERWRITE_COLS);
}
#endif
