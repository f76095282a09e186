/* Losses for mixed-precision training: FP16 predictions, FP32 labels, FP32 loss (unscaled),
 * FP16 gradient multiplied by the loss scale. All arithmetic FP32. */
#include <math.h>

#include "mf_train.h"

int mf_softmax_xent_f16_ref(const mf_f16 *logits, const float *labels, float *loss,
                            mf_f16 *dlogits, const mf_loss_desc *d, const mf_loss_scale *ls)
{
    if (!logits || !labels || !loss || !dlogits || !d || !ls || d->rows < 1 || d->cols < 1)
        return MF_EARG;
    float total = 0.0f;
    const float inv_rows = 1.0f / (float)d->rows, gscale = ls->scale * inv_rows;
    for (int32_t r = 0; r < d->rows; ++r) {
        const mf_f16 *x = logits + r * d->cols;
        mf_f16 *g = dlogits + r * d->cols;
        const int32_t label = (int32_t)labels[r];
        if (label < 0 || label >= d->cols) return MF_EARG;
        float mx = (float)x[0];
        for (int32_t j = 1; j < d->cols; ++j) mx = (float)x[j] > mx ? (float)x[j] : mx;
        float sum = 0.0f;
        for (int32_t j = 0; j < d->cols; ++j) sum += expf((float)x[j] - mx);
        total += logf(sum) - ((float)x[label] - mx);
        const float inv = 1.0f / sum;
        for (int32_t j = 0; j < d->cols; ++j)
            g[j] = (mf_f16)((expf((float)x[j] - mx) * inv - (j == label ? 1.0f : 0.0f)) * gscale);
    }
    *loss = total * inv_rows;
    return MF_OK;
}

int mf_mse_loss_f16_ref(const mf_f16 *y, const float *target, float *loss, mf_f16 *dy,
                        const mf_loss_desc *d, const mf_loss_scale *ls)
{
    if (!y || !target || !loss || !dy || !d || !ls || d->rows < 1 || d->cols < 1) return MF_EARG;
    const int32_t n = d->rows * d->cols;
    const float gscale = 2.0f * ls->scale / (float)n;
    float total = 0.0f;
    for (int32_t i = 0; i < n; ++i) {
        const float e = (float)y[i] - target[i];
        total += e * e;
        dy[i] = (mf_f16)(gscale * e);
    }
    *loss = total / (float)n;
    return MF_OK;
}
