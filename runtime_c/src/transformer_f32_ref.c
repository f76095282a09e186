/* Integrated transformer operators, FP32 reference (see mf_transformer.h). */
#include <math.h>

#include "mf_elementwise.h"
#include "mf_transformer.h"

int32_t mf_token_chain_scratch_floats(const mf_token_chain_desc *d)
{
    int32_t widest = 0;
    for (int32_t s = 0; s < d->n_steps; ++s) {
        if (d->steps[s].in_w > widest) widest = d->steps[s].in_w;
        if (d->steps[s].out_w > widest) widest = d->steps[s].out_w;
    }
    const int32_t block = d->block > 1 ? d->block : 1;
    return 2 * block * widest; /* ping-pong between two block-of-tokens-wide buffers */
}

int32_t mf_attention_scratch_floats(const mf_attention_desc *d)
{
    const int32_t rows = d->q_block > 1 ? d->q_block : 1;
    return rows * d->n_kv + d->dh; /* the rows' scores, and one output row for the reference */
}

static void step_linear(const mf_token_step *st, const float *x, float *y)
{
    for (int32_t j = 0; j < st->out_w; ++j) y[j] = st->b ? st->b[j] : 0.0f;
    for (int32_t k = 0; k < st->in_w; ++k) { /* row of w is contiguous: stream it */
        const float xk = x[k];
        const float *wr = st->w + k * st->out_w;
        for (int32_t j = 0; j < st->out_w; ++j) y[j] += xk * wr[j];
    }
    if (st->act.kind != MF_ACT_NONE)
        for (int32_t j = 0; j < st->out_w; ++j) y[j] = mf_act_apply_f32(&st->act, y[j]);
}

static void step_layernorm(const mf_token_step *st, const float *x, float *y)
{
    const int32_t n = st->in_w;
    float mean = 0.0f, var = 0.0f;
    for (int32_t j = 0; j < n; ++j) mean += x[j];
    mean /= (float)n;
    for (int32_t j = 0; j < n; ++j) var += (x[j] - mean) * (x[j] - mean);
    const float inv = 1.0f / sqrtf(var / (float)n + st->eps);
    for (int32_t j = 0; j < n; ++j) {
        float v = (x[j] - mean) * inv;
        if (st->gamma) v *= st->gamma[j];
        if (st->beta) v += st->beta[j];
        y[j] = v;
    }
}

int mf_token_chain_f32_ref(const float *x, const float *residual, float *y, float *scratch,
                           const mf_token_chain_desc *d)
{
    if (!x || !y || !scratch || !d || d->n_steps < 1 || d->n_steps > MF_MAX_TOKEN_STEPS) return MF_EARG;
    for (int32_t s = 1; s < d->n_steps; ++s)
        if (d->steps[s].in_w != d->steps[s - 1].out_w) return MF_ESHAPE;
    const int32_t in_w = d->steps[0].in_w, out_w = d->steps[d->n_steps - 1].out_w;
    const int32_t half = mf_token_chain_scratch_floats(d) / 2;
    for (int32_t t = 0; t < d->tokens; ++t) {
        const float *src = x + t * in_w;
        float *buf = scratch;
        for (int32_t s = 0; s < d->n_steps; ++s) {
            const mf_token_step *st = &d->steps[s];
            if (st->kind == MF_STEP_LINEAR) step_linear(st, src, buf);
            else if (st->kind == MF_STEP_LAYERNORM) step_layernorm(st, src, buf);
            else
                for (int32_t j = 0; j < st->out_w; ++j) buf[j] = mf_act_apply_f32(&st->act, src[j]);
            src = buf;
            buf = (buf == scratch) ? scratch + half : scratch;
        }
        /* The whole input row has been read: now the output row may land on it. */
        float *dst = y + t * out_w;
        if (residual) {
            const float *r = residual + t * out_w;
            for (int32_t j = 0; j < out_w; ++j) dst[j] = r[j] + src[j];
        } else {
            for (int32_t j = 0; j < out_w; ++j) dst[j] = src[j];
        }
    }
    return MF_OK;
}

int mf_attention_f32_ref(const float *q, const float *k, const float *v, float *out, float *scratch,
                         const mf_attention_desc *d)
{
    if (!q || !k || !v || !out || !scratch || !d || d->n_kv < 1 || d->dh < 1) return MF_EARG;
    float *score = scratch, *acc = scratch + d->n_kv;
    for (int32_t b = 0; b < d->batch; ++b) {
        const float *qb = q + b * d->n_q * d->q_stride;
        const float *kb = k + b * d->n_kv * d->k_stride;
        const float *vb = v + b * d->n_kv * d->v_stride;
        float *ob = out + b * d->n_q * d->out_stride;
        for (int32_t i = 0; i < d->n_q; ++i) {
            for (int32_t h = 0; h < d->heads; ++h) {
                const float *qi = qb + i * d->q_stride + h * d->dh;
                float mx = -INFINITY;
                for (int32_t j = 0; j < d->n_kv; ++j) {
                    const float *kj = kb + j * d->k_stride + h * d->dh;
                    float s = 0.0f;
                    for (int32_t e = 0; e < d->dh; ++e) s += qi[e] * kj[e];
                    s *= d->scale;
                    score[j] = s;
                    mx = s > mx ? s : mx;
                }
                float sum = 0.0f;
                for (int32_t j = 0; j < d->n_kv; ++j) {
                    score[j] = expf(score[j] - mx);
                    sum += score[j];
                }
                const float inv = 1.0f / sum;
                for (int32_t e = 0; e < d->dh; ++e) acc[e] = 0.0f;
                for (int32_t j = 0; j < d->n_kv; ++j) {
                    const float p = score[j] * inv;
                    const float *vj = vb + j * d->v_stride + h * d->dh;
                    for (int32_t e = 0; e < d->dh; ++e) acc[e] += p * vj[e];
                }
                float *oi = ob + i * d->out_stride + h * d->dh; /* q's block is consumed */
                for (int32_t e = 0; e < d->dh; ++e) oi[e] = acc[e];
            }
        }
    }
    return MF_OK;
}

int mf_patch_embed_f32_ref(const float *x, const float *weight, const float *bias, const float *cls,
                           const float *pos, float *out, float *scratch, const mf_patch_embed_desc *d)
{
    if (!x || !weight || !out || !scratch || !d || d->patch_h < 1 || d->patch_w < 1) return MF_EARG;
    const int32_t plane = d->h * d->w, kk = d->patch_h * d->patch_w;
    const int32_t first = d->has_cls ? 1 : 0;
    for (int32_t r = 0; r < d->hp; ++r) {
        for (int32_t c = 0; c < d->wp; ++c) {
            for (int32_t o = 0; o < d->dim; ++o) {
                const float *wo = weight + o * d->c * kk;
                float acc = bias ? bias[o] : 0.0f;
                for (int32_t ch = 0; ch < d->c; ++ch) {
                    const float *xp = x + ch * plane + (r * d->patch_h) * d->w + c * d->patch_w;
                    const float *wc = wo + ch * kk;
                    for (int32_t ky = 0; ky < d->patch_h; ++ky)
                        for (int32_t kx = 0; kx < d->patch_w; ++kx)
                            acc += xp[ky * d->w + kx] * wc[ky * d->patch_w + kx];
                }
                scratch[c * d->dim + o] = acc;
            }
        }
        /* Patch row r is consumed: its tokens may now be written, over it if out == x. */
        float *dst = out + (first + r * d->wp) * d->dim;
        const float *pe = pos ? pos + (first + r * d->wp) * d->dim : 0;
        for (int32_t j = 0; j < d->wp * d->dim; ++j) dst[j] = scratch[j] + (pe ? pe[j] : 0.0f);
    }
    if (d->has_cls) /* last: row 0 of out may overlay input that patch row 0 needed */
        for (int32_t o = 0; o < d->dim; ++o) out[o] = (cls ? cls[o] : 0.0f) + (pos ? pos[o] : 0.0f);
    return MF_OK;
}
