/* F32 convolution backward for Arm Helium: the im2col drivers of mf_train_tiled.h around
 * the mve micro-kernel (gemm_bwd_f32_mve.c), PULP-TrainLib's formulation: bwd_weight is
 * dY x (transposed im2col of x), bwd_input is (transposed weights) x dY then col2im. Depthwise
 * convolutions (a GEMM of K = k_h*k_w per channel) keep the direct reference loops. */
#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 2)
#include "mf_train.h"

static int depthwise(const mf_conv2d_desc *d) { return d->groups > 1 && d->groups == d->c_in && d->groups == d->c_out; }

int mf_conv2d_bwd_input_f32_mve(const float *dy, const float *w, float *dx, const mf_conv2d_desc *d, float *scratch)
{
    if (!d) return MF_EARG;
    if (depthwise(d)) return mf_conv2d_bwd_input_f32_ref(dy, w, dx, d);
    return mf_conv2d_bwd_input_im2col_f32(dy, w, dx, d, scratch, MF_BWD_COLS_MVE, mf_bwd_tile_f32_mve);
}

int mf_conv2d_bwd_weight_f32_mve(const float *x, const float *dy, float *dw, float *db, const mf_conv2d_desc *d,
                                 float *scratch)
{
    if (!d) return MF_EARG;
    if (depthwise(d)) return mf_conv2d_bwd_weight_f32_ref(x, dy, dw, db, d);
    return mf_conv2d_bwd_weight_im2col_f32(x, dy, dw, db, d, scratch, MF_BWD_COLS_MVE, mf_bwd_tile_f32_mve);
}
#endif
