/* FP16 convolutions over a cluster's harts (par_conv.inc): the parallel twins of
 * mf_conv2d_f16_rvv (the RVV 8-row panel of gemm_f16_rvv.c; depthwise by channels through
 * it) and of mf_conv2d_overwrite_f16_ref (FP16 storage, FP32 arithmetic), same arguments,
 * scratch = harts x the one-hart size. */
#if defined(__FLT16_MAX__)
#include "mf_f16.h"

#define MF_T mf_f16
#define MF_SFX(op) op##_f16
#define MF_PANEL_FN mf_panel_f16_fn
#include "par_conv.inc"

int mf_conv2d_overwrite_par_f16_ref(const mf_f16 *x, const mf_f16 *w, const mf_f16 *bias,
                                    mf_f16 *y, mf_f16 *scratch, const mf_conv2d_desc *d)
{
    return par_conv_overwrite_f16(x, w, bias, y, scratch, d, mf_conv2d_overwrite_f16_ref,
                                  mf_gemm_panel_f16_ref, MF_CONV_OVERWRITE_COLS);
}

#if defined(__riscv_vector)
int mf_conv2d_par_f16_rvv(const mf_f16 *x, const mf_f16 *w, const mf_f16 *bias, mf_f16 *y,
                          const mf_conv2d_desc *d, mf_f16 *scratch)
{
    if (!d) return MF_EARG;
    return par_conv_f16(x, w, bias, y, d, scratch, mf_conv2d_scratch_bytes(d, 2, MF_CONV_COLS_RVV),
                        MF_CONV_COLS_RVV, mf_gemm_panel_f16_rvv, mf_conv2d_f16_rvv, 0);
}
#endif
#endif
