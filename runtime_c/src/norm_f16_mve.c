/* FP16 LayerNorm, Softmax and GELU (and ReLU) for Arm Helium: the vector math the integrated
 * transformer kernels use (vmath_mve.inc), as the standalone ops of an op-by-op graph (a ViT's
 * final LayerNorm, a Softmax or GELU not inside a chain). Statistics, exponentials and erf in
 * FP32 lanes; other layouts and activations take the reference kernel. */
#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 2)
#include "mf_elementwise.h"
#include "mf_transformer.h"

#include "vmath_mve.inc"

int mf_layernorm_f16_mve(const mf_f16 *x, const mf_f16 *gamma, const mf_f16 *beta, mf_f16 *y,
                         mf_f16 *mean_out, mf_f16 *rstd_out, const mf_layernorm_desc *d)
{
    if (!x || !y || !d || d->cols < 1) return MF_EARG;
    if (!mean_out && !rstd_out && gamma && beta && (d->cols & 7) == 0) { /* inference, whole strips */
        vlayernorm_strips(x, gamma, beta, y, d->cols, d->eps, d->rows);
        return MF_OK;
    }
    for (int32_t r = 0; r < d->rows; ++r) {
        float mean, rstd;
        vlayernorm(x + r * d->cols, gamma, beta, y + r * d->cols, d->cols, d->eps, &mean, &rstd);
        if (mean_out) mean_out[r] = (mf_f16)mean;
        if (rstd_out) rstd_out[r] = (mf_f16)rstd;
    }
    return MF_OK;
}

int mf_softmax_f16_mve(const mf_f16 *x, mf_f16 *y, const mf_softmax_desc *d)
{
    if (!x || !y || !d || d->axis_len < 1) return MF_EARG;
    if (d->inner != 1 || d->log) return mf_softmax_f16_ref(x, y, d); /* rows not contiguous */
    for (int32_t o = 0; o < d->outer; ++o) {
        const mf_f16 *px = x + o * d->axis_len;
        mf_f16 *py = y + o * d->axis_len;
        if (py != px)
            for (int32_t j = 0; j < d->axis_len; j += 8) store_p(py + j, load_z(px + j, d->axis_len - j), d->axis_len - j);
        vsoftmax(py, d->axis_len, 1.0f);
    }
    return MF_OK;
}

int mf_unary_f16_mve(const mf_f16 *x, mf_f16 *y, int32_t n, const mf_act *act)
{
    if (!x || !y || !act || n < 0) return MF_EARG;
    if (act->kind != MF_ACT_GELU && act->kind != MF_ACT_RELU) return mf_unary_f16_ref(x, y, n, act);
    for (int32_t j = 0; j < n; j += 8) {
        vh v = load_z(x + j, n - j);
        v = act->kind == MF_ACT_RELU ? vmaxnmq_f16(v, vdupq_n_f16((float16_t)0.0f)) : vgelu_h(v);
        store_p(y + j, v, n - j);
    }
    return MF_OK;
}
#endif
