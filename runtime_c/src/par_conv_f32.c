/* FP32 convolutions over a cluster's harts (par_conv.inc), on the register-blocked 4x4 panel
 * of gemm_f32_dsp.c: the parallel twins of mf_conv2d_f32_dsp and mf_conv2d_residual_f32_dsp,
 * same arguments, scratch = harts x the one-hart size. */
#define MF_T float
#define MF_SFX(op) op##_f32
#define MF_PANEL_FN mf_panel_f32_fn
#include "par_conv.inc"

int mf_conv2d_par_f32_dsp(const float *x, const float *w, const float *bias, float *y,
                          const mf_conv2d_desc *d, float *scratch)
{
    if (!d) return MF_EARG;
    return par_conv_f32(x, w, bias, y, d, scratch, mf_conv2d_scratch_bytes(d, 4, MF_CONV_COLS_DSP),
                        MF_CONV_COLS_DSP, mf_gemm_panel_f32_dsp, mf_conv2d_f32_dsp);
}

int mf_conv2d_residual_par_f32_dsp(const float *x, const float *w, const float *bias,
                                   const float *skip, float *y, float *scratch,
                                   const mf_conv2d_desc *d)
{
    if (!d) return MF_EARG;
    return par_conv_residual_f32(x, w, bias, skip, y, scratch, d,
                                 mf_conv2d_residual_scratch_bytes(d, 4, MF_CONV_COLS_DSP),
                                 MF_CONV_COLS_DSP, mf_gemm_panel_f32_dsp);
}

int mf_conv2d_overwrite_par_f32_dsp(const float *x, const float *w, const float *bias, float *y,
                                    float *scratch, const mf_conv2d_desc *d)
{
    return par_conv_overwrite_f32(x, w, bias, y, scratch, d, mf_conv2d_overwrite_f32_dsp,
                                  mf_gemm_panel_f32_dsp, MF_CONV_OVERWRITE_COLS);
}
