/* F16 convolution backward for Arm Helium: the im2col drivers of mf_train_tiled.h around
 * the mve micro-kernel (gemm_bwd_f16_mve.c), PULP-TrainLib's formulation: bwd_weight is
 * dY x (transposed im2col of x), bwd_input is (transposed weights) x dY then col2im. Depthwise
 * convolutions (a GEMM of K = k_h*k_w per channel) keep the direct reference loops. */
#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 2)
#include "mf_train.h"

static int depthwise(const mf_conv2d_desc *d) { return d->groups > 1 && d->groups == d->c_in && d->groups == d->c_out; }

int mf_conv2d_bwd_input_f16_mve(const mf_f16 *dy, const mf_f16 *w, mf_f16 *dx, const mf_conv2d_desc *d, mf_f16 *scratch)
{
    if (!d) return MF_EARG;
    if (depthwise(d)) return mf_conv2d_bwd_input_f16_ref(dy, w, dx, d);
    return mf_conv2d_bwd_input_im2col_f16(dy, w, dx, d, scratch, MF_BWD_COLS_MVE, mf_bwd_tile_f16_mve);
}

int mf_conv2d_bwd_weight_f16_mve(const mf_f16 *x, const mf_f16 *dy, mf_f16 *dw, mf_f16 *db, const mf_conv2d_desc *d,
                                 mf_f16 *scratch)
{
    if (!d) return MF_EARG;
    if (depthwise(d)) return mf_conv2d_bwd_weight_f16_ref(x, dy, dw, db, d);
    return mf_conv2d_bwd_weight_im2col_f16(x, dy, dw, db, d, scratch, MF_BWD_COLS_MVE, mf_bwd_tile_f16_mve);
}
#endif
