/* Attention with an additive score bias, FP32 reference (see mf_attention_bias.h). */
#include <math.h>

#include "mf_attention_bias.h"

int mf_attention_bias_f32_ref(const float *q, const float *k, const float *v, const float *bias,
                              int32_t bias_heads, float *out, float *scratch, const mf_attention_desc *d)
{
    if (!q || !k || !v || !bias || !out || !scratch || !d || d->n_kv < 1 || d->dh < 1) return MF_EARG;
    if (bias_heads != 1 && bias_heads != d->heads) return MF_EARG;
    float *score = scratch, *acc = scratch + d->n_kv;
    for (int32_t b = 0; b < d->batch; ++b) {
        const float *qb = q + b * d->n_q * d->q_stride;
        const float *kb = k + b * d->n_kv * d->k_stride;
        const float *vb = v + b * d->n_kv * d->v_stride;
        float *ob = out + b * d->n_q * d->out_stride;
        for (int32_t i = 0; i < d->n_q; ++i) {
            for (int32_t h = 0; h < d->heads; ++h) {
                const float *qi = qb + i * d->q_stride + h * d->dh;
                const float *bi = bias + ((bias_heads == 1 ? 0 : h) * d->n_q + i) * d->n_kv;
                float mx = -INFINITY;
                for (int32_t j = 0; j < d->n_kv; ++j) {
                    const float *kj = kb + j * d->k_stride + h * d->dh;
                    float s = 0.0f;
                    for (int32_t e = 0; e < d->dh; ++e) s += qi[e] * kj[e];
                    s = s * d->scale + bi[j];
                    score[j] = s;
                    mx = s > mx ? s : mx;
                }
                float sum = 0.0f;
                for (int32_t j = 0; j < d->n_kv; ++j) {
                    /* a row masked entirely with -inf would give 0/0: keep it finite (zeros) */
                    score[j] = mx == -INFINITY ? 0.0f : expf(score[j] - mx);
                    sum += score[j];
                }
                const float inv = sum > 0.0f ? 1.0f / sum : 0.0f;
                for (int32_t e = 0; e < d->dh; ++e) acc[e] = 0.0f;
                for (int32_t j = 0; j < d->n_kv; ++j) {
                    const float p = score[j] * inv;
                    const float *vj = vb + j * d->v_stride + h * d->dh;
                    for (int32_t e = 0; e < d->dh; ++e) acc[e] += p * vj[e];
                }
                float *oi = ob + i * d->out_stride + h * d->dh;
                for (int32_t e = 0; e < d->dh; ++e) oi[e] = acc[e];
            }
        }
    }
    return MF_OK;
}
