/* FP16 LayerNorm, Softmax and GELU (and ReLU) for RISC-V vector: the vector math the integrated
 * transformer kernels use (vmath_rvv.inc), as the standalone ops of an op-by-op graph (a ViT's
 * final LayerNorm, a Softmax or GELU not inside a chain). Statistics, exponentials and erf in
 * FP32 lanes; other layouts and activations take the reference kernel. */
#if defined(__riscv_vector)
#include "mf_elementwise.h"
#include "mf_transformer.h"

#include "vmath_rvv.inc"

int mf_layernorm_f16_rvv(const mf_f16 *x, const mf_f16 *gamma, const mf_f16 *beta, mf_f16 *y,
                         mf_f16 *mean_out, mf_f16 *rstd_out, const mf_layernorm_desc *d)
{
    if (!x || !y || !d || d->cols < 1) return MF_EARG;
    for (int32_t r = 0; r < d->rows; ++r) {
        float mean, rstd;
        vlayernorm(x + r * d->cols, gamma, beta, y + r * d->cols, d->cols, d->eps, &mean, &rstd);
        if (mean_out) mean_out[r] = (mf_f16)mean;
        if (rstd_out) rstd_out[r] = (mf_f16)rstd;
    }
    return MF_OK;
}

int mf_softmax_f16_rvv(const mf_f16 *x, mf_f16 *y, const mf_softmax_desc *d)
{
    if (!x || !y || !d || d->axis_len < 1) return MF_EARG;
    if (d->inner != 1 || d->log) return mf_softmax_f16_ref(x, y, d); /* rows not contiguous */
    for (int32_t o = 0; o < d->outer; ++o) {
        const mf_f16 *px = x + o * d->axis_len;
        mf_f16 *py = y + o * d->axis_len;
        if (py != px)
            for (int32_t j = 0; j < d->axis_len;) {
                const size_t vl = setvl(d->axis_len - j);
                store(py + j, load(px + j, vl), vl);
                j += (int32_t)vl;
            }
        vsoftmax(py, d->axis_len, 1.0f);
    }
    return MF_OK;
}

int mf_unary_f16_rvv(const mf_f16 *x, mf_f16 *y, int32_t n, const mf_act *act)
{
    if (!x || !y || !act || n < 0) return MF_EARG;
    if (act->kind != MF_ACT_GELU && act->kind != MF_ACT_RELU) return mf_unary_f16_ref(x, y, n, act);
    for (int32_t j = 0; j < n;) {
        const size_t vl = setvl(n - j);
        vh v = load(x + j, vl);
        v = act->kind == MF_ACT_RELU ? __riscv_vfmax_vf_f16m2(v, (_Float16)0.0f, vl)
                                     : narrow(vgelu(widen(v, vl), vl), vl);
        store(y + j, v, vl);
        j += (int32_t)vl;
    }
    return MF_OK;
}
#endif
