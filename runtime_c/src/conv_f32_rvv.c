/* FP32 convolutions for RISC-V vector: im2col + the 6-row LMUL-4 panel of gemm_f32_rvv.c,
 * depthwise_f32_rvv.c for depthwise, and the residual and overwrite drivers
 * (mf_conv_inplace.h) on the same panel. */
#if defined(__riscv_vector)
#include "mf_simd_f32.h"

int mf_conv2d_f32_rvv(const float *x, const float *w, const float *bias, float *y,
                      const mf_conv2d_desc *d, float *scratch)
{
    if (!x || !w || !y || !d || d->groups < 1) return MF_EARG;
    if (mf_conv2d_is_depthwise(d)) return mf_depthwise_f32_rvv(x, w, bias, y, d, NULL);
    return mf_conv2d_im2col_f32(x, w, bias, y, d, scratch, MF_CONV_COLS_RVV, mf_gemm_panel_f32_rvv);
}

int mf_conv2d_residual_f32_rvv(const float *x, const float *w, const float *bias,
                               const float *skip, float *y, float *scratch,
                               const mf_conv2d_desc *d)
{
    return mf_conv2d_residual_f32(x, w, bias, skip, y, scratch, d, MF_CONV_COLS_RVV,
                                  mf_gemm_panel_f32_rvv);
}

static int depthwise_plane(const float *x, const float *w, const float *bias, float *y,
                           const mf_conv2d_desc *d)
{
    return mf_depthwise_f32_rvv(x, w, bias, y, d, NULL);
}

int mf_conv2d_overwrite_f32_rvv(const float *x, const float *w, const float *bias, float *y,
                                float *scratch, const mf_conv2d_desc *d)
{
    if (d && mf_conv2d_overwrite_kind(d) == MF_OVERWRITE_DEPTHWISE)
        return mf_depthwise_f32_rvv(x, w, bias, y, d, scratch);
    return mf_conv2d_overwrite_f32(x, w, bias, y, scratch, d, depthwise_plane,
                                   mf_gemm_panel_f32_rvv, MF_CONV_OVERWRITE_COLS);
}
#endif
