/* FP32 convolution for cores without float SIMD (Cortex-M4/M7): im2col + the 4x4 register
 * tile of gemm_f32_dsp.c; depthwise is depthwise_f32_dsp.c (no scratch). */
#include "mf_depthwise.h"
#include "mf_fast.h"

int mf_conv2d_f32_dsp(const float *x, const float *w, const float *bias, float *y,
                      const mf_conv2d_desc *d, float *scratch)
{
    if (!x || !w || !y || !d || d->groups < 1) return MF_EARG;
    if (mf_conv2d_is_depthwise(d)) return mf_depthwise_f32_dsp(x, w, bias, y, d, NULL);
    return mf_conv2d_im2col_f32(x, w, bias, y, d, scratch, MF_CONV_COLS_DSP, mf_gemm_panel_f32_dsp);
}
