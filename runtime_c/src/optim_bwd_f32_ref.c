/* Optimizer updates after the backward pass, FP32 reference, PyTorch's update rules. */
#include <math.h>

#include "mf_train.h"

int mf_sgd_update_f32_ref(float *w, const float *g, float *buf, int32_t n, const mf_sgd_desc *d)
{
    if (!w || !g || !d || n < 0 || (d->momentum != 0.0f && !buf)) return MF_EARG;
    for (int32_t i = 0; i < n; ++i) {
        float gi = g[i] + d->weight_decay * w[i];
        if (d->momentum != 0.0f) {
            /* buf starts at 0, so momentum * 0 + g is torch's first-step buf = g */
            buf[i] = d->momentum * buf[i] + gi;
            gi = buf[i];
        }
        w[i] -= d->lr * gi;
    }
    return MF_OK;
}

int mf_adam_update_f32_ref(float *w, const float *g, float *m, float *v, int32_t n,
                           const mf_adam_desc *d, int32_t step)
{
    if (!w || !g || !m || !v || !d || n < 0 || step < 1) return MF_EARG;
    const float bc1 = 1.0f - powf(d->beta1, (float)step);
    const float bc2_sqrt = sqrtf(1.0f - powf(d->beta2, (float)step));
    const float step_size = d->lr / bc1;
    for (int32_t i = 0; i < n; ++i) {
        const float gi = g[i] + d->weight_decay * w[i];
        m[i] = d->beta1 * m[i] + (1.0f - d->beta1) * gi;
        v[i] = d->beta2 * v[i] + (1.0f - d->beta2) * gi * gi;
        w[i] -= step_size * m[i] / (sqrtf(v[i]) / bc2_sqrt + d->eps);
    }
    return MF_OK;
}
