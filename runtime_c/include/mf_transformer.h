/* Integrated (fused) transformer operators, after MCUFormer's memory scheduling:
 * intermediates that a layer-by-layer runtime would hold whole (the N x hidden MLP
 * activation, the N x r low-rank factor, the H x N x N attention scores, the unfolded
 * patches) never exist; each kernel works one token (one query row, one patch row) at a
 * time in a small caller-provided scratch. */
#ifndef MF_TRANSFORMER_H
#define MF_TRANSFORMER_H

#include "mf_types.h"

#define MF_MAX_TOKEN_STEPS 8

typedef enum {
    MF_STEP_LINEAR = 0, /* y[j] = act(sum_k x[k] * w[k * out_w + j] + b[j]); b may be NULL */
    MF_STEP_LAYERNORM,  /* y = (x - mean) / sqrt(var + eps) * gamma + beta; gamma/beta may be NULL */
    MF_STEP_ACT,        /* y = act(x) */
} mf_token_step_kind;

typedef struct {
    mf_token_step_kind kind;
    int32_t in_w, out_w;
    const float *w, *b;         /* LINEAR */
    const float *gamma, *beta;  /* LAYERNORM */
    float eps;
    mf_act act;
} mf_token_step;

/* Runs the steps on each of `tokens` rows of x (row stride in_w) and writes row i of y (row
 * stride out_w). With residual != NULL, y = residual + chain(x) (same shape as y).
 * y may equal x when out_w <= in_w (a block of rows is written after the block is consumed,
 * never beyond it), and y may equal residual.
 * `block` tokens go through the steps together (0 counts as 1): the blocked kernels reuse each
 * weight they load across the block, at the price of a scratch `block` times wider. The
 * compiler picks it (toolchain/ops/transformer.py). scratch: mf_token_chain_scratch_floats(). */
typedef struct {
    int32_t tokens;
    int32_t n_steps;
    mf_token_step steps[MF_MAX_TOKEN_STEPS];
    int32_t block;
} mf_token_chain_desc;

int32_t mf_token_chain_scratch_floats(const mf_token_chain_desc *d);
/* Register-blocked (4 tokens x 4 features) FP32: Cortex-M4/M7 and the scalar side of others. */

/* Multi-head attention on token-major q/k/v ([batch][tokens][row stride], head h in columns
 * h*dh .. h*dh+dh-1), a block of `q_block` query rows (0 counts as 1) and one head at a time:
 * the scores of those rows live in scratch, the n x n matrix never exists. out may equal q
 * (a block of rows' head columns are written after they are consumed).
 * scratch: mf_attention_scratch_floats() = q_block * n_kv + dh (+ n_kv * dh with k_panel)
 * elements of the kernel's type. */
typedef struct {
    int32_t batch, n_q, n_kv, heads, dh;
    int32_t q_stride, k_stride, v_stride, out_stride; /* elements between consecutive tokens */
    float scale;
    int32_t q_block;
    int32_t k_panel; /* 1: the kernel copies each head's K transposed into scratch (SIMD) */
} mf_attention_desc;

int32_t mf_attention_scratch_floats(const mf_attention_desc *d);
/* Blocked QK^T (4 query rows x 4 keys) and PV (4 rows x 4 columns) register tiles. */

/* Patch embedding (a conv with kernel = stride = patch, no padding) computed one patch row at
 * a time straight from the NCHW input into token-major output rows [cls?][patches][dim], with
 * an optional class token and position embedding added. out may overlay x when
 * (wp * dim + has_cls * dim) <= patch_h * w (checked by the compiler): each patch row is written
 * after the input rows it reads are consumed. scratch: wp * dim floats. */
typedef struct {
    int32_t c, h, w, patch_h, patch_w, dim, hp, wp;
    int32_t has_cls;
} mf_patch_embed_desc;

/* The same as a GEMM over one patch row, 4 patches x 4 channels per register tile, read
 * straight from the image (no im2col copy). */

#if defined(__FLT16_MAX__)
#include "mf_f16.h"

/* FP16: the same operators over mf_f16 storage. Token-chain steps point at FP16 weights;
 * scalar parameters stay float. Scratch is counted in elements (mf_f16). The _ref kernels
 * compute in FP32 and round on store; the SIMD kernels (rvv, mve) compute in FP16 where the
 * ISA has no cheap widening FMA and keep LayerNorm/softmax/GELU statistics in FP32. */
typedef struct {
    mf_token_step_kind kind;
    int32_t in_w, out_w;
    const mf_f16 *w, *b;
    const mf_f16 *gamma, *beta;
    float eps;
    mf_act act;
} mf_token_step_f16;

typedef struct {
    int32_t tokens;
    int32_t n_steps;
    mf_token_step_f16 steps[MF_MAX_TOKEN_STEPS];
    int32_t block;
} mf_token_chain_desc_f16;

int32_t mf_token_chain_scratch_f16(const mf_token_chain_desc_f16 *d);

#endif

/* PROTOS_BEGIN: generated from toolchain/ops/kernel_table.py by `make protos`; do not edit */
int mf_attention_bias_f32_dsp(const float *q, const float *k, const float *v, const float *bias,
                              int32_t bias_heads, float *out, float *scratch,
                              const mf_attention_desc *d);
int mf_attention_bias_f32_ref(const float *q, const float *k, const float *v, const float *bias,
                              int32_t bias_heads, float *out, float *scratch,
                              const mf_attention_desc *d);
int mf_attention_f32_dsp(const float *q, const float *k, const float *v, float *out, float *scratch,
                         const mf_attention_desc *d);
int mf_attention_f32_ref(const float *q, const float *k, const float *v, float *out, float *scratch,
                         const mf_attention_desc *d);
int mf_patch_embed_f32_dsp(const float *x, const float *weight, const float *bias, const float *cls,
                           const float *pos, float *out, float *scratch,
                           const mf_patch_embed_desc *d);
int mf_patch_embed_f32_ref(const float *x, const float *weight, const float *bias, const float *cls,
                           const float *pos, float *out, float *scratch,
                           const mf_patch_embed_desc *d);
int mf_token_chain_f32_dsp(const float *x, const float *residual, float *y, float *scratch,
                           const mf_token_chain_desc *d);
int mf_token_chain_f32_ref(const float *x, const float *residual, float *y, float *scratch,
                           const mf_token_chain_desc *d);
#if defined(__FLT16_MAX__)
int mf_attention_bias_f16_mve(const mf_f16 *q, const mf_f16 *k, const mf_f16 *v, const mf_f16 *bias,
                              int32_t bias_heads, mf_f16 *out, mf_f16 *scratch,
                              const mf_attention_desc *d);
int mf_attention_bias_f16_ref(const mf_f16 *q, const mf_f16 *k, const mf_f16 *v, const mf_f16 *bias,
                              int32_t bias_heads, mf_f16 *out, mf_f16 *scratch,
                              const mf_attention_desc *d);
int mf_attention_bias_f16_rvv(const mf_f16 *q, const mf_f16 *k, const mf_f16 *v, const mf_f16 *bias,
                              int32_t bias_heads, mf_f16 *out, mf_f16 *scratch,
                              const mf_attention_desc *d);
int mf_attention_f16_mve(const mf_f16 *q, const mf_f16 *k, const mf_f16 *v, mf_f16 *out,
                         mf_f16 *scratch, const mf_attention_desc *d);
int mf_attention_f16_ref(const mf_f16 *q, const mf_f16 *k, const mf_f16 *v, mf_f16 *out,
                         mf_f16 *scratch, const mf_attention_desc *d);
int mf_attention_f16_rvv(const mf_f16 *q, const mf_f16 *k, const mf_f16 *v, mf_f16 *out,
                         mf_f16 *scratch, const mf_attention_desc *d);
int mf_patch_embed_f16_mve(const mf_f16 *x, const mf_f16 *weight, const mf_f16 *bias,
                           const mf_f16 *cls, const mf_f16 *pos, mf_f16 *out, mf_f16 *scratch,
                           const mf_patch_embed_desc *d);
int mf_patch_embed_f16_ref(const mf_f16 *x, const mf_f16 *weight, const mf_f16 *bias,
                           const mf_f16 *cls, const mf_f16 *pos, mf_f16 *out, mf_f16 *scratch,
                           const mf_patch_embed_desc *d);
int mf_patch_embed_f16_rvv(const mf_f16 *x, const mf_f16 *weight, const mf_f16 *bias,
                           const mf_f16 *cls, const mf_f16 *pos, mf_f16 *out, mf_f16 *scratch,
                           const mf_patch_embed_desc *d);
int mf_token_chain_f16_mve(const mf_f16 *x, const mf_f16 *residual, mf_f16 *y, mf_f16 *scratch,
                           const mf_token_chain_desc_f16 *d);
int mf_token_chain_f16_ref(const mf_f16 *x, const mf_f16 *residual, mf_f16 *y, mf_f16 *scratch,
                           const mf_token_chain_desc_f16 *d);
int mf_token_chain_f16_rvv(const mf_f16 *x, const mf_f16 *residual, mf_f16 *y, mf_f16 *scratch,
                           const mf_token_chain_desc_f16 *d);
#endif
/* PROTOS_END */

#endif
