/* LayerNorm, FP32, for cores without float SIMD (Cortex-M4/M7): the token chain's row
 * (layernorm_row_f32.inc) over every row; the standalone op a ViT's final norm lowers to.
 * Softmax stays on the reference. */
#include "mf_fast.h"
#include "mf_norm.h"

#include "layernorm_row_f32.inc"

int mf_layernorm_f32_dsp(const float *x, const float *gamma, const float *beta, float *y, float *mean_out,
                         float *rstd_out, const mf_layernorm_desc *d)
{
    if (!x || !y || !d || d->cols < 1) return MF_EARG;
    for (int32_t r = 0; r < d->rows; ++r)
        mf_ln_row_f32(x + r * d->cols, gamma, beta, y + r * d->cols, d->cols, d->eps, mean_out ? mean_out + r : NULL,
                      rstd_out ? rstd_out + r : NULL);
    return MF_OK;
}
