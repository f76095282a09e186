/* LayerNorm and Softmax backward, FP16 storage: row statistics and sums in FP32. */
#include <math.h>

#include "mf_train.h"

static void row_stats(const mf_f16 *px, int32_t cols, float eps, float *mean, float *rstd)
{ /* two passes in FP32, as the FP16 forward computes them */
    float m = 0.0f;
    for (int32_t j = 0; j < cols; ++j) m += (float)px[j];
    m /= (float)cols;
    float var = 0.0f;
    for (int32_t j = 0; j < cols; ++j) {
        const float t = (float)px[j] - m;
        var += t * t;
    }
    var /= (float)cols;
    *mean = m;
    *rstd = 1.0f / sqrtf(var + eps);
}

int mf_layernorm_bwd_input_f16_ref(const mf_f16 *dy, const mf_f16 *x, const mf_f16 *gamma,
                                   mf_f16 *dx, const mf_layernorm_desc *d)
{
    if (!dy || !x || !dx || !d || d->cols < 1) return MF_EARG;
    const float inv_n = 1.0f / (float)d->cols;
    for (int32_t r = 0; r < d->rows; ++r) {
        const mf_f16 *px = x + r * d->cols, *pd = dy + r * d->cols;
        mf_f16 *po = dx + r * d->cols;
        float mean, rstd;
        row_stats(px, d->cols, d->eps, &mean, &rstd);
        float sg = 0.0f, sgx = 0.0f;
        for (int32_t j = 0; j < d->cols; ++j) {
            const float g = (float)pd[j] * (gamma ? (float)gamma[j] : 1.0f);
            sg += g;
            sgx += g * ((float)px[j] - mean) * rstd;
        }
        sg *= inv_n;
        sgx *= inv_n;
        for (int32_t j = 0; j < d->cols; ++j) { /* po may alias pd: read before the write */
            const float g = (float)pd[j] * (gamma ? (float)gamma[j] : 1.0f);
            po[j] = (mf_f16)(rstd * (g - sg - ((float)px[j] - mean) * rstd * sgx));
        }
    }
    return MF_OK;
}

int mf_layernorm_bwd_weight_f16_ref(const mf_f16 *dy, const mf_f16 *x, mf_f16 *dgamma,
                                    mf_f16 *dbeta, const mf_layernorm_desc *d)
{
    if (!dy || !x || (!dgamma && !dbeta) || !d || d->cols < 1) return MF_EARG;
    /* Column sums over rows with FP32 accumulators on the stack, BLOCK columns at a time
     * (no scratch); the row statistics are recomputed once per block. */
    enum { BLOCK = 32 };
    for (int32_t j0 = 0; j0 < d->cols; j0 += BLOCK) {
        const int32_t nb = d->cols - j0 < BLOCK ? d->cols - j0 : BLOCK;
        float sg[BLOCK] = {0}, sb[BLOCK] = {0};
        for (int32_t r = 0; r < d->rows; ++r) {
            const mf_f16 *px = x + r * d->cols, *pd = dy + r * d->cols;
            float mean = 0.0f, rstd = 0.0f;
            if (dgamma) row_stats(px, d->cols, d->eps, &mean, &rstd);
            for (int32_t j = 0; j < nb; ++j) {
                const float g = (float)pd[j0 + j];
                sg[j] += g * ((float)px[j0 + j] - mean) * rstd;
                sb[j] += g;
            }
        }
        for (int32_t j = 0; j < nb; ++j) {
            if (dgamma) dgamma[j0 + j] = (mf_f16)sg[j];
            if (dbeta) dbeta[j0 + j] = (mf_f16)sb[j];
        }
    }
    return MF_OK;
}

int mf_softmax_bwd_input_f16_ref(const mf_f16 *dy, const mf_f16 *y, mf_f16 *dx,
                                 const mf_softmax_desc *d)
{
    if (!dy || !y || !dx || !d || d->axis_len < 1) return MF_EARG;
    const int32_t st = d->inner;
    for (int32_t o = 0; o < d->outer; ++o) {
        for (int32_t i = 0; i < d->inner; ++i) {
            const int32_t base = o * d->axis_len * d->inner + i;
            float s = 0.0f;
            for (int32_t a = 0; a < d->axis_len; ++a) {
                const int32_t k = base + a * st;
                s += d->log ? (float)dy[k] : (float)dy[k] * (float)y[k];
            }
            for (int32_t a = 0; a < d->axis_len; ++a) {
                const int32_t k = base + a * st;
                const float g = (float)dy[k], v = (float)y[k];
                dx[k] = (mf_f16)(d->log ? g - expf(v) * s : v * (g - s));
            }
        }
    }
    return MF_OK;
}
