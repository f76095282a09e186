/* Softmax and LayerNorm, FP16 storage, FP32 arithmetic (see mf_f16.h). Both may run in place. */
#include <math.h>

#include "mf_f16.h"

int mf_softmax_f16_ref(const mf_f16 *x, mf_f16 *y, const mf_softmax_desc *d)
{
    if (!x || !y || !d || d->axis_len < 1) return MF_EARG;
    const int32_t stride = d->inner;
    for (int32_t o = 0; o < d->outer; ++o) {
        for (int32_t i = 0; i < d->inner; ++i) {
            const mf_f16 *px = x + o * d->axis_len * d->inner + i;
            mf_f16 *py = y + o * d->axis_len * d->inner + i;
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

int mf_layernorm_f16_ref(const mf_f16 *x, const mf_f16 *gamma, const mf_f16 *beta, mf_f16 *y,
                         mf_f16 *mean_out, mf_f16 *rstd_out, const mf_layernorm_desc *d)
{
    if (!x || !y || !d || d->cols < 1) return MF_EARG;
    for (int32_t r = 0; r < d->rows; ++r) {
        const mf_f16 *px = x + r * d->cols;
        mf_f16 *py = y + r * d->cols;
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
