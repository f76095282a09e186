/* Multi-head attention with a constant additive bias on the scaled scores (attention masks,
 * relative-position biases): softmax(scale * q k^T + bias) v, one query row and one head at a
 * time like mf_attention_*. bias is [bias_heads][n_q][n_kv], bias_heads 1 (shared by every
 * head) or d->heads. Same descriptor, strides and scratch (n_kv + dh floats) as mf_attention. */
#ifndef MF_ATTENTION_BIAS_H
#define MF_ATTENTION_BIAS_H

#include "mf_transformer.h"

int mf_attention_bias_f32_ref(const float *q, const float *k, const float *v, const float *bias,
                              int32_t bias_heads, float *out, float *scratch, const mf_attention_desc *d);
/* mf_attention_f32_dsp's tiles and query-row path with the bias added to each row of scores. */
int mf_attention_bias_f32_dsp(const float *q, const float *k, const float *v, const float *bias,
                              int32_t bias_heads, float *out, float *scratch, const mf_attention_desc *d);

#if defined(__FLT16_MAX__)
/* FP16 storage (bias too: -inf masks stay -inf, finite ones beyond 65504 become -inf). The
 * biased score of each key is rounded to FP16 once; exp, sums and products in FP32 (ref) or as
 * mf_attention_f16_<isa> (rvv, mve: scratch and k_panel as theirs). A row whose every score is
 * -inf gives zeros. */
#define MF_ATTENTION_BIAS_F16(isa)                                                                    \
    int mf_attention_bias_f16_##isa(const mf_f16 *q, const mf_f16 *k, const mf_f16 *v, const mf_f16 *bias, \
                                    int32_t bias_heads, mf_f16 *out, mf_f16 *scratch,                 \
                                    const mf_attention_desc *d);
MF_ATTENTION_BIAS_F16(ref)
MF_ATTENTION_BIAS_F16(rvv)
MF_ATTENTION_BIAS_F16(mve)
#endif

#endif
