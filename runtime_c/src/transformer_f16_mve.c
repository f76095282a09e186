/* Integrated transformer operators, FP16, Arm Helium (MVE, Cortex-M55). The structure of
 * transformer_f16_rvv.c on the Helium GEMM step (gemm_tile_mve.inc: 3 x 16 outer-product
 * tiles, FP16 accumulators: MVE has no widening FP16 FMA):
 * - token chain: a block of tokens through each linear step as 3 x 16 tiles whose stores add
 *   the bias, the ReLU and the residual and land in the chain's output when the step is the
 *   last (linear_f16_mve.inc; GELU in one pass over the block after); LayerNorm rows by
 *   vlayernorm_strips;
 * - attention: at q_block 1, eight queries along the vector where eight score vectors per key
 *   fit the K panel (attention_cols_mve.inc), else four query rows with keys along the vector
 *   (attention_rows_mve.inc); larger blocks gather each head's K transposed into scratch and
 *   run QK^T and PV as two panel GEMMs, softmax in between;
 * - patch embedding: 24 output channels (3 vectors) x 2 patches per tile, the conv weight's
 *   columns gathered (vldrh gather, offsets in u16: up to 7 * c * ph * pw <= 65535).
 * LayerNorm statistics in FP32 lanes, softmax exponentials and GELU in FP16 lanes (vexp2_h,
 * vgelu_h16): vmath_mve.inc. The hot loops whose scalar operands clang would turn into spilled
 * Q-register splats are inline assembly with their constants in general registers. */
#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 2)
#include "mf_elementwise.h"
#include "mf_fast.h"
#include "mf_attention_bias.h"
#include "mf_transformer.h"

#include "vmath_mve.inc"
#include "linear_f16_mve.inc"
#include "attention_rows_mve.inc"

/* ---------------------------------------------------------------- token chain */

/* y[n][w] = act(y + bias) in place, 8 halves at a time. */
static void bias_act(mf_f16 *y, int32_t n, int32_t w, const mf_f16 *bias, const mf_act *act)
{
    /* vgelu_h16 is the tanh form: GELU_TANH exactly, erf's GELU within 4.8e-4 */
    const int gelu = act->kind == MF_ACT_GELU || act->kind == MF_ACT_GELU_TANH;
    const int simple = act->kind == MF_ACT_NONE || act->kind == MF_ACT_RELU || gelu;
    if (!bias && act->kind == MF_ACT_NONE) return;
    for (int32_t r = 0; r < n; ++r) {
        mf_f16 *yr = y + r * w;
        for (int32_t j = 0; j < w; j += 8) {
            vh v = load_z(yr + j, w - j);
            if (bias) v = vaddq_f16(v, load_z(bias + j, w - j));
            if (act->kind == MF_ACT_RELU) v = vmaxnmq_f16(v, vdupq_n_f16((float16_t)0.0f));
            else if (gelu) v = vgelu_h16(v);
            store_p(yr + j, v, w - j);
        }
        if (!simple)
            for (int32_t j = 0; j < w; ++j) yr[j] = (mf_f16)mf_act_apply_f32(act, (float)yr[j]);
    }
}

/* the fused epilogue's activation for a step, or -1 when it takes the generic path */
static int lin_act(const mf_act *act)
{
    if (act->kind == MF_ACT_NONE) return LIN_NONE;
    if (act->kind == MF_ACT_RELU) return LIN_RELU;
    return act->kind == MF_ACT_GELU || act->kind == MF_ACT_GELU_TANH ? LIN_GELU : -1;
}

/* 1 when [p, p + pn) and [q, q + qn) (halves) share no byte */
static int apart(const mf_f16 *p, int32_t pn, const mf_f16 *q, int32_t qn)
{
    const uintptr_t a = (uintptr_t)p, b = (uintptr_t)q;
    return a + (uintptr_t)pn * sizeof(mf_f16) <= b || b + (uintptr_t)qn * sizeof(mf_f16) <= a;
}

int mf_token_chain_f16_mve(const mf_f16 *x, const mf_f16 *residual, mf_f16 *y, mf_f16 *scratch,
                           const mf_token_chain_desc_f16 *d)
{
    if (!x || !y || !scratch || !d || d->n_steps < 1 || d->n_steps > MF_MAX_TOKEN_STEPS) return MF_EARG;
    for (int32_t s = 1; s < d->n_steps; ++s)
        if (d->steps[s].in_w != d->steps[s - 1].out_w) return MF_ESHAPE;
    const int32_t in_w = d->steps[0].in_w, out_w = d->steps[d->n_steps - 1].out_w;
    const int32_t block = d->block > 1 ? d->block : 1;
    const int32_t half = mf_token_chain_scratch_f16(d) / 2;
    for (int32_t t0 = 0; t0 < d->tokens; t0 += block) {
        const int32_t nb = d->tokens - t0 < block ? d->tokens - t0 : block;
        const mf_f16 *src = x + t0 * in_w;
        mf_f16 *buf = scratch;
        mf_f16 *dst = y + t0 * out_w;
        const mf_f16 *res = residual ? residual + t0 * out_w : NULL;
        int done = 0; /* the last step wrote dst (with the residual) itself */
        for (int32_t s = 0; s < d->n_steps; ++s) {
            const mf_token_step_f16 *st = &d->steps[s];
            const int act = lin_act(&st->act);
            if (st->kind == MF_STEP_LINEAR && act >= 0) {
                /* the last linear writes the output rows directly unless they overlay the
                 * rows it reads (a one-step chain in place) */
                if (s == d->n_steps - 1 && apart(src, nb * st->in_w, dst, nb * out_w)) {
                    linear_fused(src, st->in_w, st->w, st->out_w, nb, st->out_w, st->in_w, st->b, act, res, out_w,
                                 dst, out_w);
                    done = 1;
                } else {
                    linear_fused(src, st->in_w, st->w, st->out_w, nb, st->out_w, st->in_w, st->b, act, NULL, 0, buf,
                                 st->out_w);
                }
            } else if (st->kind == MF_STEP_LINEAR) {
                mf_gemm_panel_f16_mve(src, st->in_w, st->w, st->out_w, buf, st->out_w, nb, st->out_w, st->in_w,
                                      NULL, 0);
                bias_act(buf, nb, st->out_w, st->b, &st->act);
            } else if (st->kind == MF_STEP_LAYERNORM) {
                if (st->gamma && st->beta && (st->in_w & 7) == 0)
                    vlayernorm_strips(src, st->gamma, st->beta, buf, st->in_w, st->eps, nb);
                else
                    for (int32_t r = 0; r < nb; ++r)
                        vlayernorm(src + r * st->in_w, st->gamma, st->beta, buf + r * st->in_w, st->in_w, st->eps,
                                   NULL, NULL);
            } else {
                for (int32_t j = 0; j < nb * st->out_w; ++j) buf[j] = src[j];
                bias_act(buf, nb, st->out_w, NULL, &st->act);
            }
            src = buf;
            buf = (buf == scratch) ? scratch + half : scratch;
        }
        if (done) continue;
        /* The block's input rows are all read: its output rows may land on them. */
        const int32_t n = nb * out_w;
        for (int32_t j = 0; j < n; j += 8) {
            vh v = load_z(src + j, n - j);
            if (res) v = vaddq_f16(v, load_z(res + j, n - j));
            store_p(dst + j, v, n - j);
        }
    }
    return MF_OK;
}

/* ---------------------------------------------------------------- attention */

/* s = scale * s + bias in FP32, rounded to FP16 once; returns the row's largest value. */
static float bias_row(mf_f16 *s, const mf_f16 *bias, int32_t n, float scale)
{
    float16_t hi = (float16_t)-INFINITY;
    for (int32_t j = 0; j < n; j += 8) {
        const vh v = load_z(s + j, n - j), b = load_z(bias + j, n - j);
        const vf e = vfmaq_n_f32(vcvtbq_f32_f16(b), vcvtbq_f32_f16(v), scale);
        const vf o = vfmaq_n_f32(vcvttq_f32_f16(b), vcvttq_f32_f16(v), scale);
        const vh r = vcvttq_f16_f32(vcvtbq_f16_f32(v, e), o);
        store_p(s + j, r, n - j);
        hi = vmaxnmvq_p_f16(hi, r, vctp16q((uint32_t)(n - j)));
    }
    return (float)hi;
}

/* ---------------------------------------------------------------- attention: row path */

/* Head dims up to ROW_DH at q_block 1 (the planner's choice where attention sets the arena):
 * ROWS_AT_ONCE query rows at a time, keys along the vector. QK^T gathers K's columns (no
 * transposed copy), so the K-panel scratch holds the rows' scores instead and each gather
 * serves four rows and each row's max is tracked on the way; the exponentials (FP16, vexp2_h)
 * stay unnormalised, PV runs on the GEMM panel (vector along the head dim) and each output row
 * is scaled by its 1 / sum once. With a score bias or a negative scale the rows take vsoftmax
 * (max pass, bias) instead. */
#define ROW_DH 16
#define ROWS_AT_ONCE 4

/* s[r][0 .. n_kv) = q_r . K[j], r < 4 (rows past nr repeat the last; pv_rows4x8 reads all four); k at
 * this head's column; lanes: the gather offsets 0, ks, .., 7 ks; top[r]: the row's largest
 * score, tracked per strip (predicated: a tail's lanes past n_kv never count). */
static inline __attribute__((always_inline)) void qk_rows(const mf_f16 *q, int32_t qs, int32_t nr, const mf_f16 *k,
                                                        int32_t ks, uint16x8_t lanes, int32_t dh, mf_f16 *s,
                                                        int32_t n_kv, float *top)
{
    const float16_t *q0 = (const float16_t *)q, *q1 = (const float16_t *)(q + (nr > 1 ? 1 : 0) * qs);
    const float16_t *q2 = (const float16_t *)(q + (nr > 2 ? 2 : nr - 1) * qs);
    const float16_t *q3 = (const float16_t *)(q + (nr > 3 ? 3 : nr - 1) * qs);
    float16_t m0 = (float16_t)-INFINITY, m1 = m0, m2 = m0, m3 = m0; /* across-vector max: no Q register */
    /* all four rows are stored (the scratch holds them, rows past nr repeat the last): no
     * branch per row; full strips unpredicated */
#define MF_QK_STRIP(GATHER, STORE, MAX)                                                         \
    do {                                                                                        \
        const float16_t *kc = (const float16_t *)(k + j * ks);                                  \
        vh a0 = vdupq_n_f16((float16_t)0.0f), a1 = a0, a2 = a0, a3 = a0;                         \
        for (int32_t e = 0; e < dh; ++e) {                                                      \
            const vh kv = GATHER;                                                               \
            a0 = vfmaq_n_f16(a0, kv, q0[e]);                                                    \
            a1 = vfmaq_n_f16(a1, kv, q1[e]);                                                    \
            a2 = vfmaq_n_f16(a2, kv, q2[e]);                                                    \
            a3 = vfmaq_n_f16(a3, kv, q3[e]);                                                    \
        }                                                                                       \
        STORE(s + j, a0);                                                                       \
        STORE(s + n_kv + j, a1);                                                                \
        STORE(s + 2 * n_kv + j, a2);                                                            \
        STORE(s + 3 * n_kv + j, a3);                                                            \
        m0 = MAX(m0, a0);                                                                       \
        m1 = MAX(m1, a1);                                                                       \
        m2 = MAX(m2, a2);                                                                       \
        m3 = MAX(m3, a3);                                                                       \
    } while (0)
#define MF_QK_ST(ptr, v) vst1q_f16((float16_t *)(ptr), v)
#define MF_QK_STP(ptr, v) vstrhq_p_f16((float16_t *)(ptr), v, p)
#define MF_QK_MAXP(m, v) vmaxnmvq_p_f16(m, v, p)
    int32_t j = 0;
    for (; j + 8 <= n_kv; j += 8)
        MF_QK_STRIP(vldrhq_gather_shifted_offset_f16(kc + e, lanes), MF_QK_ST, vmaxnmvq_f16);
    if (j < n_kv) {
        const mve_pred16_t p = vctp16q((uint32_t)(n_kv - j));
        MF_QK_STRIP(vldrhq_gather_shifted_offset_z_f16(kc + e, lanes, p), MF_QK_STP, MF_QK_MAXP);
    }
#undef MF_QK_STRIP
#undef MF_QK_ST
#undef MF_QK_STP
#undef MF_QK_MAXP
    top[0] = (float)m0;
    top[1] = (float)m1;
    top[2] = (float)m2;
    top[3] = (float)m3;
}

/* softmax of each of the nr score rows (scaled, plus the bias rows when given) */
static void softmax_rows(mf_f16 *s, int32_t nr, int32_t n_kv, const mf_f16 *bias, float scale)
{
    for (int32_t r = 0; r < nr; ++r) {
        mf_f16 *row = s + r * n_kv;
        if (!bias) {
            vsoftmax(row, n_kv, scale);
        } else if (bias_row(row, bias + r * n_kv, n_kv, scale) == -INFINITY) {
            for (int32_t j = 0; j < n_kv; ++j) row[j] = (mf_f16)0.0f; /* fully masked: zeros */
        } else {
            vsoftmax(row, n_kv, 1.0f);
        }
    }
}

static void attend_rows(const mf_f16 *q, const mf_f16 *k, const mf_f16 *v, const mf_f16 *bias, int32_t bias_heads,
                        mf_f16 *out, mf_f16 *scratch, const mf_attention_desc *d)
{
    const int32_t n_kv = d->n_kv, dh = d->dh;
    const uint16x8_t lanes = vmulq_n_u16(vidupq_n_u16(0, 1), (uint16_t)d->k_stride);
    const int fast = !bias && d->scale >= 0.0f; /* else vsoftmax: bias rows, or the min for a negative scale */
    float top[ROWS_AT_ONCE], inv[ROWS_AT_ONCE];
    const float16_t sc = (float16_t)(LOG2E * d->scale); /* exp(z) = 2^(z log2 e) */
    for (int32_t b = 0; b < d->batch; ++b) {
        const mf_f16 *qb = q + b * d->n_q * d->q_stride;
        const mf_f16 *kb = k + b * n_kv * d->k_stride;
        const mf_f16 *vb = v + b * n_kv * d->v_stride;
        mf_f16 *ob = out + b * d->n_q * d->out_stride;
        for (int32_t h = 0; h < d->heads; ++h) {
            const int32_t col = h * dh;
            const mf_f16 *bh = bias ? bias + (bias_heads == 1 ? 0 : h) * d->n_q * n_kv : NULL;
            for (int32_t i0 = 0; i0 < d->n_q; i0 += ROWS_AT_ONCE) {
                const int32_t nr = d->n_q - i0 < ROWS_AT_ONCE ? d->n_q - i0 : ROWS_AT_ONCE;
                if (dh == 8) /* the common head dim, its e loop unrolled with immediate offsets */
                    qk_rows(qb + i0 * d->q_stride + col, d->q_stride, nr, kb + col, d->k_stride, lanes, 8, scratch,
                            n_kv, top);
                else
                    qk_rows(qb + i0 * d->q_stride + col, d->q_stride, nr, kb + col, d->k_stride, lanes, dh, scratch,
                            n_kv, top);
                if (fast)
                    for (int32_t r = 0; r < nr; ++r)
                        inv[r] = exp_row_asm(scratch + r * n_kv, n_kv, sc, (float16_t)(-LOG2E * d->scale * top[r]));
                else
                    softmax_rows(scratch, nr, n_kv, bh ? bh + i0 * n_kv : NULL, d->scale);
                /* these rows' q columns of head h are consumed: the output may overwrite them */
                mf_f16 *o = ob + i0 * d->out_stride + col;
                if (fast && dh % 8 == 0) { /* the 4 score rows are in scratch even when nr < 4 */
                    for (int32_t j = 0; j < dh; j += 8)
                        pv_rows4x8(scratch, n_kv, vb + col + j, d->v_stride, o + j, d->out_stride, nr, inv);
                    continue;
                }
                mf_gemm_panel_f16_mve(scratch, n_kv, vb + col, d->v_stride, o, d->out_stride, nr, dh, n_kv, NULL, 0);
                if (fast)
                    for (int32_t r = 0; r < nr; ++r)
                        for (int32_t j = 0; j < dh; j += 8) {
                            mf_f16 *y = o + r * d->out_stride + j;
                            store_p(y, vmulq_n_f16(load_z(y, dh - j), (float16_t)inv[r]), dh - j);
                        }
            }
        }
    }
}

#include "attention_cols_mve.inc"

/* bias: NULL, or [bias_heads][n_q][n_kv] added to the scaled scores (mf_attention_bias.h) */
static int attend(const mf_f16 *q, const mf_f16 *k, const mf_f16 *v, const mf_f16 *bias, int32_t bias_heads,
                  mf_f16 *out, mf_f16 *scratch, const mf_attention_desc *d)
{
    if (!q || !k || !v || !out || !scratch || !d || d->n_kv < 1 || d->dh < 1 || !d->k_panel) return MF_EARG;
    if (7 * d->k_stride > 65535) return bias ? mf_attention_bias_f16_ref(q, k, v, bias, bias_heads, out, scratch, d)
                    : mf_attention_f16_ref(q, k, v, out, scratch, d); /* gather offsets */
    const int32_t rows = d->q_block > 1 ? d->q_block : 1, n_kv = d->n_kv, dh = d->dh;
    /* the row path's four score rows fit in the K panel's scratch (dh >= 3) */
    if (rows == 1 && d->scale >= 0.0f && cols_fit(d)) { /* queries along the vector */
        attend_cols(q, k, v, bias, bias_heads, out, scratch, d);
        return MF_OK;
    }
    if (rows == 1 && dh <= ROW_DH && dh >= ROWS_AT_ONCE - 1) {
        attend_rows(q, k, v, bias, bias_heads, out, scratch, d);
        return MF_OK;
    }
    mf_f16 *s = scratch, *kt = scratch + rows * n_kv + dh; /* kt: [dh][n_kv] */
    const uint16x8_t lanes = vmulq_n_u16(vidupq_n_u16(0, 1), (uint16_t)d->k_stride);
    for (int32_t b = 0; b < d->batch; ++b) {
        const mf_f16 *qb = q + b * d->n_q * d->q_stride;
        const mf_f16 *kb = k + b * n_kv * d->k_stride;
        const mf_f16 *vb = v + b * n_kv * d->v_stride;
        mf_f16 *ob = out + b * d->n_q * d->out_stride;
        for (int32_t h = 0; h < d->heads; ++h) {
            const int32_t col = h * dh;
            for (int32_t e = 0; e < dh; ++e)
                for (int32_t j = 0; j < n_kv; j += 8) {
                    const mve_pred16_t p = vctp16q((uint32_t)(n_kv - j));
                    const vh kc = vldrhq_gather_shifted_offset_z_f16(
                        (const float16_t *)(kb + j * d->k_stride + col + e), lanes, p);
                    vstrhq_p_f16((float16_t *)(kt + e * n_kv + j), kc, p);
                }
            for (int32_t i0 = 0; i0 < d->n_q; i0 += rows) {
                const int32_t nr = d->n_q - i0 < rows ? d->n_q - i0 : rows;
                mf_gemm_panel_f16_mve(qb + i0 * d->q_stride + col, d->q_stride, kt, n_kv, s, n_kv, nr, n_kv, dh,
                                      NULL, 0);
                for (int32_t r = 0; r < nr; ++r) {
                    mf_f16 *row = s + r * n_kv;
                    if (!bias) {
                        vsoftmax(row, n_kv, d->scale);
                    } else if (bias_row(row, bias + ((bias_heads == 1 ? 0 : h) * d->n_q + i0 + r) * n_kv, n_kv,
                                        d->scale) == -INFINITY) {
                        for (int32_t j = 0; j < n_kv; ++j) row[j] = (mf_f16)0.0f; /* fully masked: zeros */
                    } else {
                        vsoftmax(row, n_kv, 1.0f);
                    }
                }
                /* this block's q columns of head h are consumed: the output may overwrite them */
                mf_gemm_panel_f16_mve(s, n_kv, vb + col, d->v_stride, ob + i0 * d->out_stride + col, d->out_stride,
                                      nr, dh, n_kv, NULL, 0);
            }
        }
    }
    return MF_OK;
}

int mf_attention_f16_mve(const mf_f16 *q, const mf_f16 *k, const mf_f16 *v, mf_f16 *out, mf_f16 *scratch,
                         const mf_attention_desc *d)
{
    return attend(q, k, v, NULL, 0, out, scratch, d);
}

int mf_attention_bias_f16_mve(const mf_f16 *q, const mf_f16 *k, const mf_f16 *v, const mf_f16 *bias,
                              int32_t bias_heads, mf_f16 *out, mf_f16 *scratch, const mf_attention_desc *d)
{
    if (!bias || !d || (bias_heads != 1 && bias_heads != d->heads)) return MF_EARG;
    return attend(q, k, v, bias, bias_heads, out, scratch, d);
}

/* ---------------------------------------------------------------- patch embedding */

/* Two patches (x: channel 0, first pixel row, first patch's column; x1: the second patch's
 * offset, 0 when there is one) times 8 * NV channels (w: the first channel's weight row; offs:
 * lane * c * ph * pw), unpredicated. Per weight column NV gathers, 2 scalar loads and 2 NV
 * FMAs: for NV = 3 the 8 Q registers hold 6 accumulators, the gathered column and the offsets. */
#define MF_PATCH_TILE2(NAME, NV)                                                                      \
    static inline __attribute__((always_inline)) void NAME##_pw(const mf_f16 *x, int32_t x1, const mf_f16 *w, \
                                                                uint16x8_t offs, const mf_patch_embed_desc *d, \
                                                                const mf_f16 *bias, mf_f16 *c, int32_t nt,   \
                                                                const int32_t pw)                            \
    {                                                                                                \
        const int32_t ph = d->patch_h, plane = d->h * d->w, kdim = d->c * ph * pw;                   \
        const vh zero = vdupq_n_f16((float16_t)0.0f);                                                \
        vh a0 = bias ? vld1q_f16((const float16_t *)bias) : zero, a1 = zero, a2 = zero;              \
        if (NV > 1 && bias) a1 = vld1q_f16((const float16_t *)bias + 8);                             \
        if (NV > 2 && bias) a2 = vld1q_f16((const float16_t *)bias + 16);                            \
        vh b0 = a0, b1 = a1, b2 = a2;                                                                \
        for (int32_t ch = 0; ch < d->c; ++ch)                                                        \
            for (int32_t ky = 0; ky < ph; ++ky) {                                                    \
                const mf_f16 *xp = x + ch * plane + ky * d->w;                                       \
                const float16_t *wk = (const float16_t *)(w + (ch * ph + ky) * pw);                  \
                for (int32_t kx = 0; kx < pw; ++kx) {                                                \
                    const float16_t u = (float16_t)xp[kx], t = (float16_t)xp[x1 + kx];              \
                    vh wv = vldrhq_gather_shifted_offset_f16(wk + kx, offs);                         \
                    a0 = vfmaq_n_f16(a0, wv, u);                                                     \
                    b0 = vfmaq_n_f16(b0, wv, t);                                                     \
                    if (NV > 1) {                                                                    \
                        wv = vldrhq_gather_shifted_offset_f16(wk + 8 * kdim + kx, offs);             \
                        a1 = vfmaq_n_f16(a1, wv, u);                                                 \
                        b1 = vfmaq_n_f16(b1, wv, t);                                                 \
                    }                                                                                \
                    if (NV > 2) {                                                                    \
                        wv = vldrhq_gather_shifted_offset_f16(wk + 16 * kdim + kx, offs);            \
                        a2 = vfmaq_n_f16(a2, wv, u);                                                 \
                        b2 = vfmaq_n_f16(b2, wv, t);                                                 \
                    }                                                                                \
                }                                                                                    \
            }                                                                                        \
        float16_t *c0 = (float16_t *)c, *c1 = (float16_t *)(c + d->dim);                            \
        vst1q_f16(c0, a0);                                                                           \
        if (NV > 1) vst1q_f16(c0 + 8, a1);                                                           \
        if (NV > 2) vst1q_f16(c0 + 16, a2);                                                          \
        if (nt > 1) {                                                                                \
            vst1q_f16(c1, b0);                                                                       \
            if (NV > 1) vst1q_f16(c1 + 8, b1);                                                       \
            if (NV > 2) vst1q_f16(c1 + 16, b2);                                                      \
        }                                                                                            \
    }                                                                                                \
    /* patch width 4 (the zoo's and most small ViTs'): its kx loop unrolled */                       \
    static void NAME(const mf_f16 *x, int32_t x1, const mf_f16 *w, uint16x8_t offs,                 \
                     const mf_patch_embed_desc *d, const mf_f16 *bias, mf_f16 *c, int32_t nt)       \
    {                                                                                                \
        if (d->patch_w == 4) NAME##_pw(x, x1, w, offs, d, bias, c, nt, 4);                           \
        else NAME##_pw(x, x1, w, offs, d, bias, c, nt, d->patch_w);                                  \
    }
MF_PATCH_TILE2(patch_tile2x24, 3)
MF_PATCH_TILE2(patch_tile2x16, 2)
MF_PATCH_TILE2(patch_tile2x8, 1)

/* The same for the last channels (nc < 8 of them), predicated. */
static void patch_tile2xn(const mf_f16 *x, int32_t x1, const mf_f16 *w, uint16x8_t offs,
                          const mf_patch_embed_desc *d, const mf_f16 *bias, mf_f16 *c, int32_t nt, int32_t nc)
{
    const int32_t ph = d->patch_h, pw = d->patch_w, plane = d->h * d->w, kdim = d->c * ph * pw;
    for (int32_t o = 0; o < nc; o += 8) {
        const mve_pred16_t pc = vctp16q((uint32_t)(nc - o));
        vh a0 = bias ? load_z(bias + o, nc - o) : vdupq_n_f16((float16_t)0.0f), b0 = a0;
        for (int32_t ch = 0; ch < d->c; ++ch)
            for (int32_t ky = 0; ky < ph; ++ky) {
                const mf_f16 *xp = x + ch * plane + ky * d->w;
                const float16_t *wk = (const float16_t *)(w + o * kdim + (ch * ph + ky) * pw);
                for (int32_t kx = 0; kx < pw; ++kx) {
                    const vh wv = vldrhq_gather_shifted_offset_z_f16(wk + kx, offs, pc);
                    a0 = vfmaq_n_f16(a0, wv, (float16_t)xp[kx]);
                    b0 = vfmaq_n_f16(b0, wv, (float16_t)xp[x1 + kx]);
                }
            }
        store_p(c + o, a0, nc - o);
        if (nt > 1) store_p(c + d->dim + o, b0, nc - o);
    }
}

int mf_patch_embed_f16_mve(const mf_f16 *x, const mf_f16 *weight, const mf_f16 *bias, const mf_f16 *cls,
                           const mf_f16 *pos, mf_f16 *out, mf_f16 *scratch, const mf_patch_embed_desc *d)
{
    if (!x || !weight || !out || !scratch || !d || d->patch_h < 1 || d->patch_w < 1) return MF_EARG;
    const int32_t kdim = d->c * d->patch_h * d->patch_w;
    if (7 * kdim > 65535) return mf_patch_embed_f16_ref(x, weight, bias, cls, pos, out, scratch, d);
    const uint16x8_t offs = vmulq_n_u16(vidupq_n_u16(0, 1), (uint16_t)kdim);
    const int32_t first = d->has_cls ? 1 : 0;
    for (int32_t r = 0; r < d->hp; ++r) {
        const mf_f16 *xr = x + r * d->patch_h * d->w;
        for (int32_t t = 0; t < d->wp; t += 2) { /* patches in pairs, channels in 24s */
            const int32_t nt = d->wp - t < 2 ? 1 : 2, x1 = nt > 1 ? d->patch_w : 0;
            const mf_f16 *xt = xr + t * d->patch_w;
            int32_t o0 = 0;
            for (; o0 + 24 <= d->dim; o0 += 24)
                patch_tile2x24(xt, x1, weight + o0 * kdim, offs, d, bias ? bias + o0 : NULL, scratch + t * d->dim + o0,
                               nt);
            if (o0 + 16 <= d->dim) {
                patch_tile2x16(xt, x1, weight + o0 * kdim, offs, d, bias ? bias + o0 : NULL, scratch + t * d->dim + o0,
                               nt);
                o0 += 16;
            } else if (o0 + 8 <= d->dim) {
                patch_tile2x8(xt, x1, weight + o0 * kdim, offs, d, bias ? bias + o0 : NULL, scratch + t * d->dim + o0,
                              nt);
                o0 += 8;
            }
            if (o0 < d->dim)
                patch_tile2xn(xt, x1, weight + o0 * kdim, offs, d, bias ? bias + o0 : NULL, scratch + t * d->dim + o0,
                              nt, d->dim - o0);
        }
        /* Patch row r is consumed: its tokens may now be written, over it if out == x. */
        mf_f16 *dst = out + (first + r * d->wp) * d->dim;
        const mf_f16 *pe = pos ? pos + (first + r * d->wp) * d->dim : NULL;
        const int32_t n = d->wp * d->dim;
        int32_t j = 0;
        if (pe) /* full strips unpredicated, the position embedding's case apart */
            for (; j + 8 <= n; j += 8)
                vst1q_f16((float16_t *)(dst + j), vaddq_f16(vld1q_f16((const float16_t *)(scratch + j)),
                                                            vld1q_f16((const float16_t *)(pe + j))));
        for (; j < n; j += 8) {
            vh val = load_z(scratch + j, n - j);
            if (pe) val = vaddq_f16(val, load_z(pe + j, n - j));
            store_p(dst + j, val, n - j);
        }
    }
    if (d->has_cls) /* last: row 0 of out may overlay input that patch row 0 needed */
        for (int32_t o = 0; o < d->dim; ++o)
            out[o] = (mf_f16)((cls ? (float)cls[o] : 0.0f) + (pos ? (float)pos[o] : 0.0f));
    return MF_OK;
}
#endif
