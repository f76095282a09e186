/* The overwrite-safe depthwise/pointwise convolution (conv_overwrite_ref.inc's driver) on the
 * Helium FP16 kernels: mf_conv2d_f16_mve per depthwise channel (itself the reference until
 * Helium has a direct depthwise), the gemm_f16_mve.c panel per pointwise tile. Same scratch
 * as the reference. */
#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 2)
#include "mf_conv_inplace.h"

/* One channel is a depthwise problem, which needs no im2col scratch. */
static int depthwise_plane(const mf_f16 *x, const mf_f16 *w, const mf_f16 *bias, mf_f16 *y,
                           const mf_conv2d_desc *d)
{
    return mf_conv2d_f16_mve(x, w, bias, y, d, NULL);
}

int mf_conv2d_overwrite_f16_mve(const mf_f16 *x, const mf_f16 *w, const mf_f16 *bias, mf_f16 *y,
                                mf_f16 *scratch, const mf_conv2d_desc *d)
{
    return mf_conv2d_overwrite_f16(x, w, bias, y, scratch, d, depthwise_plane,
                                   mf_gemm_panel_f16_mve, MF_CONV_OVERWRITE_COLS);
}
#endif
