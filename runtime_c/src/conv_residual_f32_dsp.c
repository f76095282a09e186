/* The residual-fused convolution (conv_residual_f32_ref.c) on the 4x4 GEMM tile of
 * gemm_f32_dsp.c, for cores without float SIMD. */
#include "mf_conv_inplace.h"

int mf_conv2d_residual_f32_dsp(const float *x, const float *w, const float *bias,
                               const float *skip, float *y, float *scratch,
                               const mf_conv2d_desc *d)
{
    return mf_conv2d_residual_f32(x, w, bias, skip, y, scratch, d, MF_CONV_COLS_DSP,
                                  mf_gemm_panel_f32_dsp);
}
