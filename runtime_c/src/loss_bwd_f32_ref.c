/* Losses with their gradient, FP32 reference (mean reduction, as PyTorch's defaults). */
#include <math.h>

#include "mf_train.h"

int mf_softmax_xent_f32_ref(const float *logits, const float *labels, float *loss,
                            float *dlogits, const mf_loss_desc *d)
{
    if (!logits || !labels || !loss || !dlogits || !d || d->rows < 1 || d->cols < 1)
        return MF_EARG;
    float total = 0.0f;
    const float inv_rows = 1.0f / (float)d->rows;
    for (int32_t r = 0; r < d->rows; ++r) {
        const float *x = logits + r * d->cols;
        float *g = dlogits + r * d->cols;
        const int32_t label = (int32_t)labels[r];
        if (label < 0 || label >= d->cols) return MF_EARG;
        float mx = x[0];
        for (int32_t j = 1; j < d->cols; ++j) mx = x[j] > mx ? x[j] : mx;
        float sum = 0.0f;
        for (int32_t j = 0; j < d->cols; ++j) sum += expf(x[j] - mx);
        const float lse = logf(sum);
        total += lse - (x[label] - mx);
        const float inv = 1.0f / sum;
        for (int32_t j = 0; j < d->cols; ++j)
            g[j] = (expf(x[j] - mx) * inv - (j == label ? 1.0f : 0.0f)) * inv_rows;
    }
    *loss = total * inv_rows;
    return MF_OK;
}

int mf_mse_loss_f32_ref(const float *y, const float *target, float *loss, float *dy,
                        const mf_loss_desc *d)
{
    if (!y || !target || !loss || !dy || !d || d->rows < 1 || d->cols < 1) return MF_EARG;
    const int32_t n = d->rows * d->cols;
    const float scale = 2.0f / (float)n;
    float total = 0.0f;
    for (int32_t i = 0; i < n; ++i) {
        const float e = y[i] - target[i];
        total += e * e;
        dy[i] = scale * e;
    }
    *loss = total / (float)n;
    return MF_OK;
}
