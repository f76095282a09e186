/* LayerNorm and Softmax backward, FP32 reference. */
#include <math.h>

#include "mf_train.h"

static void row_stats(const float *px, int32_t cols, float eps, float *mean, float *rstd)
{ /* the forward's two-pass mean and variance, so xhat matches it bit for bit */
    float m = 0.0f;
    for (int32_t j = 0; j < cols; ++j) m += px[j];
    m /= (float)cols;
    float var = 0.0f;
    for (int32_t j = 0; j < cols; ++j) {
        const float t = px[j] - m;
        var += t * t;
    }
    var /= (float)cols;
    *mean = m;
    *rstd = 1.0f / sqrtf(var + eps);
}

int mf_layernorm_bwd_input_f32_ref(const float *dy, const float *x, const float *gamma,
                                   float *dx, const mf_layernorm_desc *d)
{
    if (!dy || !x || !dx || !d || d->cols < 1) return MF_EARG;
    const float inv_n = 1.0f / (float)d->cols;
    for (int32_t r = 0; r < d->rows; ++r) {
        const float *px = x + r * d->cols, *pd = dy + r * d->cols;
        float *po = dx + r * d->cols;
        float mean, rstd;
        row_stats(px, d->cols, d->eps, &mean, &rstd);
        /* dx = rstd * (g - mean(g) - xhat * mean(g * xhat)), g = dy * gamma */
        float sg = 0.0f, sgx = 0.0f;
        for (int32_t j = 0; j < d->cols; ++j) {
            const float g = pd[j] * (gamma ? gamma[j] : 1.0f);
            sg += g;
            sgx += g * (px[j] - mean) * rstd;
        }
        sg *= inv_n;
        sgx *= inv_n;
        for (int32_t j = 0; j < d->cols; ++j) {
            const float g = pd[j] * (gamma ? gamma[j] : 1.0f);
            po[j] = rstd * (g - sg - (px[j] - mean) * rstd * sgx);
        }
    }
    return MF_OK;
}

int mf_layernorm_bwd_weight_f32_ref(const float *dy, const float *x, float *dgamma,
                                    float *dbeta, const mf_layernorm_desc *d)
{
    if (!dy || !x || (!dgamma && !dbeta) || !d || d->cols < 1) return MF_EARG;
    for (int32_t j = 0; j < d->cols; ++j) {
        if (dgamma) dgamma[j] = 0.0f;
        if (dbeta) dbeta[j] = 0.0f;
    }
    for (int32_t r = 0; r < d->rows; ++r) {
        const float *px = x + r * d->cols, *pd = dy + r * d->cols;
        float mean, rstd;
        row_stats(px, d->cols, d->eps, &mean, &rstd);
        for (int32_t j = 0; j < d->cols; ++j) {
            if (dgamma) dgamma[j] += pd[j] * (px[j] - mean) * rstd;
            if (dbeta) dbeta[j] += pd[j];
        }
    }
    return MF_OK;
}

int mf_softmax_bwd_input_f32_ref(const float *dy, const float *y, float *dx,
                                 const mf_softmax_desc *d)
{
    if (!dy || !y || !dx || !d || d->axis_len < 1) return MF_EARG;
    const int32_t st = d->inner;
    for (int32_t o = 0; o < d->outer; ++o) {
        for (int32_t i = 0; i < d->inner; ++i) {
            const int32_t base = o * d->axis_len * d->inner + i;
            float s = 0.0f;
            for (int32_t a = 0; a < d->axis_len; ++a)
                s += d->log ? dy[base + a * st] : dy[base + a * st] * y[base + a * st];
            for (int32_t a = 0; a < d->axis_len; ++a) {
                const int32_t k = base + a * st;
                dx[k] = d->log ? dy[k] - expf(y[k]) * s : y[k] * (dy[k] - s);
            }
        }
    }
    return MF_OK;
}
