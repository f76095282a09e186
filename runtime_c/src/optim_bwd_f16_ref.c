/* Optimizer updates for mixed-precision training: FP32 master weights and state, FP16
 * gradients divided by the loss scale in FP32, the FP16 working copy refreshed. PyTorch's
 * update rules, as optim_bwd_f32_ref.c. */
#include <math.h>

#include "mf_train.h"

int mf_loss_scale_update(mf_loss_scale *ls)
{
    if (!ls || ls->scale <= 0.0f) return MF_EARG;
    if (ls->overflow) {
        ls->scale = ls->scale * 0.5f < ls->min_scale ? ls->min_scale : ls->scale * 0.5f;
        ls->good_steps = 0;
        ls->overflow = 0;
    } else if (ls->growth_interval > 0 && ++ls->good_steps >= ls->growth_interval) {
        ls->scale *= 2.0f;
        ls->good_steps = 0;
    }
    return MF_OK;
}

/* 1 when every g[i] is finite: an overflow anywhere skips the whole tensor's update. */
static int all_finite(const mf_f16 *g, int32_t n)
{
    for (int32_t i = 0; i < n; ++i)
        if (!isfinite((float)g[i])) return 0;
    return 1;
}

int mf_sgd_update_f16_ref(float *w, const mf_f16 *g, float *buf, mf_f16 *w_half, int32_t n,
                          const mf_sgd_desc *d, mf_loss_scale *ls)
{
    if (!w || !g || !w_half || !d || !ls || n < 0 || (d->momentum != 0.0f && !buf)) return MF_EARG;
    if (!all_finite(g, n)) {
        ls->overflow = 1;
        return MF_OK;
    }
    const float inv = 1.0f / ls->scale;
    for (int32_t i = 0; i < n; ++i) {
        float gi = (float)g[i] * inv + d->weight_decay * w[i];
        if (d->momentum != 0.0f) {
            buf[i] = d->momentum * buf[i] + gi;
            gi = buf[i];
        }
        w[i] -= d->lr * gi;
        w_half[i] = (mf_f16)w[i];
    }
    return MF_OK;
}

int mf_adam_update_f16_ref(float *w, const mf_f16 *g, float *m, float *v, mf_f16 *w_half,
                           int32_t n, const mf_adam_desc *d, int32_t step, mf_loss_scale *ls)
{
    if (!w || !g || !m || !v || !w_half || !d || !ls || n < 0 || step < 1) return MF_EARG;
    if (!all_finite(g, n)) {
        ls->overflow = 1;
        return MF_OK;
    }
    const float inv = 1.0f / ls->scale;
    const float bc1 = 1.0f - powf(d->beta1, (float)step);
    const float bc2_sqrt = sqrtf(1.0f - powf(d->beta2, (float)step));
    const float step_size = d->lr / bc1;
    for (int32_t i = 0; i < n; ++i) {
        const float gi = (float)g[i] * inv + d->weight_decay * w[i];
        m[i] = d->beta1 * m[i] + (1.0f - d->beta1) * gi;
        v[i] = d->beta2 * v[i] + (1.0f - d->beta2) * gi * gi;
        w[i] -= step_size * m[i] / (sqrtf(v[i]) / bc2_sqrt + d->eps);
        w_half[i] = (mf_f16)w[i];
    }
    return MF_OK;
}
