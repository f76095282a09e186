/* The overwrite-safe depthwise/pointwise convolution (conv_overwrite_f32_ref.c) on the
 * register-blocked kernels of cores without float SIMD: depthwise_f32_dsp.c (which writes over
 * its input row by row through a ring of rows in the scratch) and the 4x4 GEMM tile of
 * gemm_f32_dsp.c. Same scratch as the reference. */
#include "mf_conv_inplace.h"
#include "mf_depthwise.h"

/* A one-channel depthwise problem never takes the im2col path, so it needs no scratch. */
static int depthwise_plane(const float *x, const float *w, const float *bias, float *y,
                           const mf_conv2d_desc *d)
{
    return mf_conv2d_f32_dsp(x, w, bias, y, d, NULL);
}

int mf_conv2d_overwrite_f32_dsp(const float *x, const float *w, const float *bias, float *y,
                                float *scratch, const mf_conv2d_desc *d)
{
    if (d && mf_conv2d_overwrite_kind(d) == MF_OVERWRITE_DEPTHWISE)
        return mf_depthwise_f32_dsp(x, w, bias, y, d, scratch);
    return mf_conv2d_overwrite_f32(x, w, bias, y, scratch, d, depthwise_plane,
                                   mf_gemm_panel_f32_dsp, MF_CONV_OVERWRITE_COLS);
}
