/* Attention with an additive score bias, FP16 storage, FP32 arithmetic (see mf_attention_bias.h):
 * the reference the rvv and mve variants (transformer_f16_<isa>.c) are checked against. The
 * scores of one query row are kept in FP16 scratch, as in the FP16 attention reference. */
#include <math.h>

#include "mf_attention_bias.h"

int mf_attention_bias_f16_ref(const mf_f16 *q, const mf_f16 *k, const mf_f16 *v, const mf_f16 *bias,
                              int32_t bias_heads, mf_f16 *out, mf_f16 *scratch, const mf_attention_desc *d)
{
    if (!q || !k || !v || !bias || !out || !scratch || !d || d->n_kv < 1 || d->dh < 1) return MF_EARG;
    if (bias_heads != 1 && bias_heads != d->heads) return MF_EARG;
    mf_f16 *score = scratch;
    for (int32_t b = 0; b < d->batch; ++b) {
        const mf_f16 *qb = q + b * d->n_q * d->q_stride;
        const mf_f16 *kb = k + b * d->n_kv * d->k_stride;
        const mf_f16 *vb = v + b * d->n_kv * d->v_stride;
        mf_f16 *ob = out + b * d->n_q * d->out_stride;
        for (int32_t i = 0; i < d->n_q; ++i) {
            for (int32_t h = 0; h < d->heads; ++h) {
                const mf_f16 *qi = qb + i * d->q_stride + h * d->dh;
                const mf_f16 *bi = bias + ((bias_heads == 1 ? 0 : h) * d->n_q + i) * d->n_kv;
                float mx = -INFINITY;
                for (int32_t j = 0; j < d->n_kv; ++j) {
                    const mf_f16 *kj = kb + j * d->k_stride + h * d->dh;
                    float s = 0.0f;
                    for (int32_t e = 0; e < d->dh; ++e) s += (float)qi[e] * (float)kj[e];
                    const mf_f16 sh = (mf_f16)(s * d->scale + (float)bi[j]); /* FP16 like the SIMD rows */
                    score[j] = sh;
                    mx = (float)sh > mx ? (float)sh : mx;
                }
                float sum = 0.0f;
                for (int32_t j = 0; j < d->n_kv; ++j) {
                    /* a row masked entirely with -inf would give 0/0: keep it finite (zeros) */
                    const float e = mx == -INFINITY ? 0.0f : expf((float)score[j] - mx);
                    score[j] = (mf_f16)e;
                    sum += e;
                }
                const float inv = sum > 0.0f ? 1.0f / sum : 0.0f;
                /* q's block is consumed: the output may overwrite it column by column */
                mf_f16 *oi = ob + i * d->out_stride + h * d->dh;
                for (int32_t e = 0; e < d->dh; ++e) {
                    float acc = 0.0f;
                    for (int32_t j = 0; j < d->n_kv; ++j)
                        acc += (float)score[j] * (float)vb[j * d->v_stride + h * d->dh + e];
                    oi[e] = (mf_f16)(acc * inv);
                }
            }
        }
    }
    return MF_OK;
}
