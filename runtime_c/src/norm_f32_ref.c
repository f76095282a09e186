/* Softmax and LayerNorm, FP32 reference. Both may run in place. */
#include <math.h>

#include "mf_norm.h"

int mf_softmax_f32_ref(const float *x, float *y, const mf_softmax_desc *d)
{
    if (!x || !y || !d || d->axis_len < 1) return MF_EARG;
    const int32_t stride = d->inner;
    for (int32_t o = 0; o < d->outer; ++o) {
        for (int32_t i = 0; i < d->inner; ++i) {
            const float *px = x + o * d->axis_len * d->inner + i;
            float *py = y + o * d->axis_len * d->inner + i;
            float mx = px[0];
            for (int32_t a = 1; a < d->axis_len; ++a) mx = px[a * stride] > mx ? px[a * stride] : mx;
            float sum = 0.0f;
            for (int32_t a = 0; a < d->axis_len; ++a) {
                float e = expf(px[a * stride] - mx);
                sum += e;
                if (!d->log) py[a * stride] = e;
                else py[a * stride] = px[a * stride] - mx;
            }
            if (d->log) {
                const float ls = logf(sum);
                for (int32_t a = 0; a < d->axis_len; ++a) py[a * stride] -= ls;
            } else {
                const float inv = 1.0f / sum;
                for (int32_t a = 0; a < d->axis_len; ++a) py[a * stride] *= inv;
            }
        }
    }
    return MF_OK;
}

int mf_layernorm_f32_ref(const float *x, const float *gamma, const float *beta, float *y,
                         float *mean_out, float *rstd_out, const mf_layernorm_desc *d)
{
    if (!x || !y || !d || d->cols < 1) return MF_EARG;
    for (int32_t r = 0; r < d->rows; ++r) {
        const float *px = x + r * d->cols;
        float *py = y + r * d->cols;
        float mean = 0.0f;
        for (int32_t j = 0; j < d->cols; ++j) mean += px[j];
        mean /= (float)d->cols;
        float var = 0.0f;
        for (int32_t j = 0; j < d->cols; ++j) {
            const float t = px[j] - mean;
            var += t * t;
        }
        var /= (float)d->cols;
        const float inv = 1.0f / sqrtf(var + d->eps);
        if (mean_out) mean_out[r] = mean;
        if (rstd_out) rstd_out[r] = inv;
        for (int32_t j = 0; j < d->cols; ++j) {
            float v = (px[j] - mean) * inv;
            if (gamma) v *= gamma[j];
            if (beta) v += beta[j];
            py[j] = v;
        }
    }
    return MF_OK;
}
