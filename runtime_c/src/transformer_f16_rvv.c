/* Integrated transformer operators, FP16, RISC-V vector (RVV 1.0 + Zvfh), VLEN-agnostic.
 *
 * - Token chain: a block of tokens through each linear step as one GEMM on the forward GEMM's
 *   panel (gemm_f16_rvv.c: 8 tokens x VLMAX features per outer-product tile, FP16
 *   accumulators), then a vector epilogue adds the bias and applies the activation.
 * - Attention: per head, K is copied transposed into scratch once (strided vector loads), so
 *   QK^T and PV of a block of query rows are two panel GEMMs; the block's scores never leave
 *   scratch. Small heads at q_block 1 take the query-row path (attend_rows).
 * - Patch embedding: output features along the vector, 4 patches per tile; the conv weight
 *   ([dim][c*ph*pw]) is read down its columns with strided loads, the image by scalar loads.
 * LayerNorm sums widen to FP32 lanes; softmax exponentials and GELU run in FP16 lanes at LMUL 1
 * (vmath_rvv.inc: vexp2_h, vgelu_h), the exponentials' sums in FP32. */
#if defined(__riscv_vector)
#include "mf_elementwise.h"
#include "mf_fast.h"
#include "mf_attention_bias.h"
#include "mf_transformer.h"

#include "vmath_rvv.inc"

/* ---------------------------------------------------------------- token chain */

/* y[n][w] = act(y + bias) in place, vector by vector. GELU and its tanh form (Keras's, through
 * tf2onnx) both take vgelu_h, which computes the tanh form (within 4.8e-4 of the erf one). */
static void bias_act(mf_f16 *y, int32_t n, int32_t w, const mf_f16 *bias, const mf_act *act)
{
    const int gelu = act->kind == MF_ACT_GELU || act->kind == MF_ACT_GELU_TANH;
    const int simple = act->kind == MF_ACT_NONE || act->kind == MF_ACT_RELU || gelu;
    if (!bias && act->kind == MF_ACT_NONE) return;
    if (gelu) { /* FP16 GELU (vgelu_h), LMUL-1 strips */
        VEXP_H_CONSTS;
        for (int32_t r = 0; r < n; ++r) {
            _Float16 *yr = (_Float16 *)(y + r * w);
            for (int32_t j = 0; j < w;) {
                const size_t vl = __riscv_vsetvl_e16m1((size_t)(w - j));
                vfloat16m1_t v = __riscv_vle16_v_f16m1(yr + j, vl);
                if (bias) v = __riscv_vfadd_vv_f16m1(v, __riscv_vle16_v_f16m1((const _Float16 *)(bias + j), vl), vl);
                __riscv_vse16_v_f16m1(yr + j, VGELU_H(v, vl), vl);
                j += (int32_t)vl;
            }
        }
        return;
    }
    for (int32_t r = 0; r < n; ++r) {
        mf_f16 *yr = y + r * w;
        for (int32_t j = 0; j < w;) {
            const size_t vl = setvl(w - j);
            vh v = load(yr + j, vl);
            if (bias) v = __riscv_vfadd_vv_f16m2(v, load(bias + j, vl), vl);
            if (act->kind == MF_ACT_RELU) v = __riscv_vfmax_vf_f16m2(v, (_Float16)0.0f, vl);
            store(yr + j, v, vl);
            j += (int32_t)vl;
        }
        if (!simple)
            for (int32_t j = 0; j < w; ++j) yr[j] = (mf_f16)mf_act_apply_f32(act, (float)yr[j]);
    }
}

int mf_token_chain_f16_rvv(const mf_f16 *x, const mf_f16 *residual, mf_f16 *y, mf_f16 *scratch,
                           const mf_token_chain_desc_f16 *d)
{
    if (!x || !y || !scratch || !d || d->n_steps < 1 || d->n_steps > MF_MAX_TOKEN_STEPS) return MF_EARG;
    for (int32_t s = 1; s < d->n_steps; ++s)
        if (d->steps[s].in_w != d->steps[s - 1].out_w) return MF_ESHAPE;
    const int32_t in_w = d->steps[0].in_w, out_w = d->steps[d->n_steps - 1].out_w;
    const int32_t block = d->block > 1 ? d->block : 1;
    const int32_t half = mf_token_chain_scratch_f16(d) / 2;
    /* A last linear step without activation adds its bias in the copy-out below (the same
     * FP16 sums in the same order), which saves a load and a store per strip of its output. */
    const mf_token_step_f16 *last = &d->steps[d->n_steps - 1];
    const mf_f16 *out_bias = last->kind == MF_STEP_LINEAR && last->act.kind == MF_ACT_NONE ? last->b : NULL;
    for (int32_t t0 = 0; t0 < d->tokens; t0 += block) {
        const int32_t nb = d->tokens - t0 < block ? d->tokens - t0 : block;
        const mf_f16 *src = x + t0 * in_w;
        mf_f16 *buf = scratch;
        for (int32_t s = 0; s < d->n_steps; ++s) {
            const mf_token_step_f16 *st = &d->steps[s];
            if (st->kind == MF_STEP_LINEAR) {
                mf_gemm_panel_f16_rvv(src, st->in_w, st->w, st->out_w, buf, st->out_w, nb, st->out_w, st->in_w,
                                      NULL, 0);
                /* an activation step right after a linear without one runs in its epilogue (the
                 * exporter's view between them, sunk by the passes, left them two steps) */
                const mf_act *act = &st->act;
                if (act->kind == MF_ACT_NONE && s + 1 < d->n_steps && d->steps[s + 1].kind == MF_STEP_ACT)
                    act = &d->steps[++s].act;
                if (st != last || !out_bias) bias_act(buf, nb, st->out_w, st->b, act);
            } else if (st->kind == MF_STEP_LAYERNORM) {
                for (int32_t r = 0; r < nb; ++r)
                    vlayernorm(src + r * st->in_w, st->gamma, st->beta, buf + r * st->in_w, st->in_w, st->eps,
                               NULL, NULL);
            } else {
                for (int32_t j = 0; j < nb * st->out_w;) {
                    const size_t vl = setvl(nb * st->out_w - j);
                    store(buf + j, load(src + j, vl), vl);
                    j += (int32_t)vl;
                }
                bias_act(buf, nb, st->out_w, NULL, &st->act);
            }
            src = buf;
            buf = (buf == scratch) ? scratch + half : scratch;
        }
        /* The block's input rows are all read: its output rows may land on them. */
        mf_f16 *dst = y + t0 * out_w;
        const mf_f16 *res = residual ? residual + t0 * out_w : NULL;
        if (out_bias) {
            for (int32_t r = 0; r < nb; ++r)
                for (int32_t j = 0; j < out_w;) {
                    const size_t vl = setvl(out_w - j);
                    const int32_t at = r * out_w + j;
                    vh v = __riscv_vfadd_vv_f16m2(load(src + at, vl), load(out_bias + j, vl), vl);
                    if (res) v = __riscv_vfadd_vv_f16m2(v, load(res + at, vl), vl);
                    store(dst + at, v, vl);
                    j += (int32_t)vl;
                }
            continue;
        }
        const int32_t n = nb * out_w;
        for (int32_t j = 0; j < n;) {
            const size_t vl = setvl(n - j);
            vh v = load(src + j, vl);
            if (res) v = __riscv_vfadd_vv_f16m2(v, load(res + j, vl), vl);
            store(dst + j, v, vl);
            j += (int32_t)vl;
        }
    }
    return MF_OK;
}

/* ---------------------------------------------------------------- attention */

/* s = scale * s + bias in FP32, rounded to FP16 once; returns the row's largest value. */
static float bias_row(mf_f16 *s, const mf_f16 *bias, int32_t n, float scale)
{
    _Float16 hi = (_Float16)-INFINITY;
    for (int32_t j = 0; j < n;) {
        const size_t vl = setvl(n - j);
        const vh r = narrow(__riscv_vfmadd_vf_f32m4(widen(load(s + j, vl), vl), scale, widen(load(bias + j, vl), vl), vl),
                            vl);
        store(s + j, r, vl);
        hi = __riscv_vfmv_f_s_f16m1_f16(__riscv_vfredmax_vs_f16m2_f16m1(r, __riscv_vfmv_s_f_f16m1(hi, 1), vl));
        j += (int32_t)vl;
    }
    return (float)hi;
}

/* ---------------------------------------------------------------- attention: row path */

/* Head dims up to ROW_DH at q_block 1 (the planner's choice where attention sets the arena):
 * ROWS_AT_ONCE query rows at a time, keys along the vector. QK^T reads K's columns with
 * strided loads (no transposed copy), so the K-panel scratch holds the rows' scores instead,
 * each K load serves four rows, and each row's max is tracked in registers on the way. The
 * exponentials (FP16, vexp2_h) stay unnormalised; PV runs as a 4-row GEMM tile over V's rows
 * (mf_gemm_panel_f16_rvv, vector along the head dim; keys along the vector with strided V
 * columns measured slower: a strided load per 8 MACs and a reduction per output) and each
 * output row is scaled by its 1 / sum once: dh multiplies instead of n_kv. A score bias is
 * added by bias_row, whose max the exponentials then start from; a negative scale without
 * bias takes vsoftmax (max pass) instead. */
#define ROW_DH 16
#define ROWS_AT_ONCE 4
/* Up to this many last keys (n_kv mod 16 after the LMUL-4/2 strips: 65 tokens leave one) take
 * one K-row load and per row a multiply and a widening sum reduction (about 5 instructions
 * per key and row at dh <= VLMAX) instead of an LMUL-1 strip of dh strided loads, 4 dh
 * multiply-adds and 4 dh scalar q loads (about 100 at dh 8) that a lone key would fill one
 * lane of. */
#define TAIL_KEYS 3

/* One strip of scores at LMUL L: the four rows' dot products with vl keys (kc: the first key
 * at this head's column; qp: q interleaved [dh][4]). */
#define QK_DOTS(L, vl)                                                                              \
    vfloat16##L##_t a0 = __riscv_vfmv_v_f_f16##L((_Float16)0.0f, vl), a1 = a0, a2 = a0, a3 = a0;    \
    {                                                                                               \
        const mf_f16 *qp = qbuf, *kp = kc;                                                          \
        for (int32_t e = 0; e < dh; ++e, qp += ROWS_AT_ONCE, ++kp) {                                \
            const vfloat16##L##_t kv = __riscv_vlse16_v_f16##L((const _Float16 *)kp, kstride, vl);  \
            a0 = __riscv_vfmacc_vf_f16##L(a0, qp[0], kv, vl);                                       \
            a1 = __riscv_vfmacc_vf_f16##L(a1, qp[1], kv, vl);                                       \
            a2 = __riscv_vfmacc_vf_f16##L(a2, qp[2], kv, vl);                                       \
            a3 = __riscv_vfmacc_vf_f16##L(a3, qp[3], kv, vl);                                       \
        }                                                                                           \
    }                                                                                               \
    __riscv_vse16_v_f16##L((_Float16 *)(s + j), a0, vl);                                            \
    if (nr > 1) __riscv_vse16_v_f16##L((_Float16 *)(s + n_kv + j), a1, vl);                         \
    if (nr > 2) __riscv_vse16_v_f16##L((_Float16 *)(s + 2 * n_kv + j), a2, vl);                     \
    if (nr > 3) __riscv_vse16_v_f16##L((_Float16 *)(s + 3 * n_kv + j), a3, vl)

/* s[r][0 .. n_kv) = q_r . K[j] for r < nr (rows past nr repeat the last in qbuf and are not
 * stored); top[r]: the row's largest score. Full LMUL-4 then LMUL-2 strips (their parts feed
 * LMUL-1 max registers), then LMUL-1 strips for the rest (an LMUL-L instruction costs L
 * whatever its vl; the wider strips spread each strip's scalar loads over more keys). */
static void qk_rows(const mf_f16 *qbuf, int32_t nr, const mf_f16 *k, int32_t ks, int32_t dh, mf_f16 *s,
                    int32_t n_kv, float *top)
{
    const size_t w1 = __riscv_vsetvlmax_e16m1(), w2 = __riscv_vsetvlmax_e16m2();
    const ptrdiff_t kstride = (ptrdiff_t)ks * 2;
    vfloat16m1_t m0 = __riscv_vfmv_v_f_f16m1((_Float16)-INFINITY, w1), m1 = m0, m2 = m0, m3 = m0;
    int32_t j = 0;
    const size_t w4 = __riscv_vsetvlmax_e16m4();
#define MAX4(m, a)                                                                                    \
    m = __riscv_vfmax_vv_f16m1(                                                                       \
        __riscv_vfmax_vv_f16m1(__riscv_vfmax_vv_f16m1(m, __riscv_vget_v_f16m4_f16m1(a, 0), w1),       \
                               __riscv_vget_v_f16m4_f16m1(a, 1), w1),                                 \
        __riscv_vfmax_vv_f16m1(__riscv_vget_v_f16m4_f16m1(a, 2), __riscv_vget_v_f16m4_f16m1(a, 3), w1), w1)
    for (; j + (int32_t)w4 <= n_kv; j += (int32_t)w4) { /* 4 vector registers per K column load */
        const mf_f16 *kc = k + j * ks;
        QK_DOTS(m4, w4);
        MAX4(m0, a0);
        MAX4(m1, a1);
        MAX4(m2, a2);
        MAX4(m3, a3);
    }
#undef MAX4
    for (; j + (int32_t)w2 <= n_kv; j += (int32_t)w2) {
        const mf_f16 *kc = k + j * ks;
        QK_DOTS(m2, w2);
        m0 = __riscv_vfmax_vv_f16m1(__riscv_vfmax_vv_f16m1(m0, __riscv_vget_v_f16m2_f16m1(a0, 0), w1),
                                    __riscv_vget_v_f16m2_f16m1(a0, 1), w1);
        m1 = __riscv_vfmax_vv_f16m1(__riscv_vfmax_vv_f16m1(m1, __riscv_vget_v_f16m2_f16m1(a1, 0), w1),
                                    __riscv_vget_v_f16m2_f16m1(a1, 1), w1);
        m2 = __riscv_vfmax_vv_f16m1(__riscv_vfmax_vv_f16m1(m2, __riscv_vget_v_f16m2_f16m1(a2, 0), w1),
                                    __riscv_vget_v_f16m2_f16m1(a2, 1), w1);
        m3 = __riscv_vfmax_vv_f16m1(__riscv_vfmax_vv_f16m1(m3, __riscv_vget_v_f16m2_f16m1(a3, 0), w1),
                                    __riscv_vget_v_f16m2_f16m1(a3, 1), w1);
    }
    float tail_top[ROWS_AT_ONCE] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
    if (n_kv - j <= TAIL_KEYS && dh <= (int32_t)w1) { /* the last keys by reductions: see TAIL_KEYS */
        const size_t vd = __riscv_vsetvl_e16m1((size_t)dh);
        const ptrdiff_t qstride = ROWS_AT_ONCE * 2;
        const vfloat16m1_t q0 = __riscv_vlse16_v_f16m1((const _Float16 *)qbuf, qstride, vd);
        const vfloat16m1_t q1 = __riscv_vlse16_v_f16m1((const _Float16 *)(qbuf + 1), qstride, vd);
        const vfloat16m1_t q2 = __riscv_vlse16_v_f16m1((const _Float16 *)(qbuf + 2), qstride, vd);
        const vfloat16m1_t q3 = __riscv_vlse16_v_f16m1((const _Float16 *)(qbuf + 3), qstride, vd);
        const vfloat32m1_t zero = __riscv_vfmv_s_f_f32m1(0.0f, 1);
#define TAIL_DOT(r, qv)                                                                                          \
    if (nr > r) {                                                                                                \
        const mf_f16 sj = (mf_f16)__riscv_vfmv_f_s_f32m1_f32(                                                   \
            __riscv_vfwredusum_vs_f16m1_f32m1(__riscv_vfmul_vv_f16m1(qv, kv, vd), zero, vd));                    \
        s[r * n_kv + j] = sj;                                                                                    \
        tail_top[r] = (float)sj > tail_top[r] ? (float)sj : tail_top[r];                                         \
    }
        for (; j < n_kv; ++j) {
            const vfloat16m1_t kv = __riscv_vle16_v_f16m1((const _Float16 *)(k + j * ks), vd);
            TAIL_DOT(0, q0)
            TAIL_DOT(1, q1)
            TAIL_DOT(2, q2)
            TAIL_DOT(3, q3)
        }
#undef TAIL_DOT
    }
    while (j < n_kv) {
        const size_t vl = __riscv_vsetvl_e16m1((size_t)(n_kv - j));
        const mf_f16 *kc = k + j * ks;
        QK_DOTS(m1, vl);
        m0 = __riscv_vfmax_vv_f16m1_tu(m0, m0, a0, vl); /* lanes past vl keep their maxima */
        m1 = __riscv_vfmax_vv_f16m1_tu(m1, m1, a1, vl);
        m2 = __riscv_vfmax_vv_f16m1_tu(m2, m2, a2, vl);
        m3 = __riscv_vfmax_vv_f16m1_tu(m3, m3, a3, vl);
        j += (int32_t)vl;
    }
    const vfloat16m1_t lo = __riscv_vfmv_s_f_f16m1((_Float16)-INFINITY, 1);
    top[0] = fmaxf((float)__riscv_vfmv_f_s_f16m1_f16(__riscv_vfredmax_vs_f16m1_f16m1(m0, lo, w1)), tail_top[0]);
    top[1] = fmaxf((float)__riscv_vfmv_f_s_f16m1_f16(__riscv_vfredmax_vs_f16m1_f16m1(m1, lo, w1)), tail_top[1]);
    top[2] = fmaxf((float)__riscv_vfmv_f_s_f16m1_f16(__riscv_vfredmax_vs_f16m1_f16m1(m2, lo, w1)), tail_top[2]);
    top[3] = fmaxf((float)__riscv_vfmv_f_s_f16m1_f16(__riscv_vfredmax_vs_f16m1_f16m1(m3, lo, w1)), tail_top[3]);
}

/* s[0 .. n) <- exp(scale * s - mx) in place, unnormalised, by vexp2_h; returns 1 / their sum
 * (FP32). The general form, for what exp_row's shortcut does not take. */
static float exp_row_clamped(mf_f16 *s, int32_t n, float scale, float mx)
{
    const size_t w1 = __riscv_vsetvlmax_e16m1();
    const vfloat16m1_t vmx = __riscv_vfmv_v_f_f16m1((_Float16)(LOG2E * mx), w1); /* exp(z) = 2^(z log2 e) */
    const _Float16 sc = (_Float16)(LOG2E * scale);
    VEXP_H_CONSTS;
    vfloat32m2_t acc = __riscv_vfmv_v_f_f32m2(0.0f, __riscv_vsetvlmax_e32m2());
    for (int32_t j = 0; j < n;) {
        const size_t vl = __riscv_vsetvl_e16m1((size_t)(n - j));
        _Float16 *p = (_Float16 *)(s + j);
        const vfloat16m1_t e = VEXP2_H(__riscv_vfmsub_vf_f16m1(__riscv_vle16_v_f16m1(p, vl), sc, vmx, vl), vl);
        acc = __riscv_vfwadd_wv_f32m2_tu(acc, acc, e, vl); /* tail lanes keep their sums */
        __riscv_vse16_v_f16m1(p, e, vl);
        j += (int32_t)vl;
    }
    return 1.0f / __riscv_vfmv_f_s_f32m1_f32(__riscv_vfredusum_vs_f32m2_f32m1(
                      acc, __riscv_vfmv_s_f_f32m1(0.0f, 1), __riscv_vsetvlmax_e32m2()));
}

/* 2^(x sc - m) of the strip at p, see exp_row */
static inline vfloat16m1_t exp_strip(const _Float16 *p, _Float16 lo, _Float16 sc, _Float16 c, vfloat16m1_t vc,
                                     vfloat16m1_t c3, vfloat16m1_t c2, vfloat16m1_t c1, vfloat16m1_t one, size_t vl)
{
    const vfloat16m1_t x = __riscv_vfmax_vf_f16m1(__riscv_vle16_v_f16m1(p, vl), lo, vl);
    const vfloat16m1_t t = __riscv_vfmadd_vf_f16m1(x, sc, vc, vl);
    return vexp2_nr_h(t, __riscv_vfmsub_vf_f16m1(x, sc, __riscv_vfsub_vf_f16m1(t, c, vl), vl), c3, c2, c1, one, vl);
}

/* The same, with the row's max folded into the exponent shifter: softmax does not depend on
 * the constant subtracted, so the row subtracts m, the integer nearest log2(e) mx that makes
 * c = VEXP_SHIFT - m an FP16. Then t = round(s sc + c) = n + VEXP_SHIFT in one fused
 * multiply-add (n = round(s sc - m)), and r = s sc - (t - c) exactly: three instructions
 * where vexp2_h spends five on y = s sc - m, its clamp, n and r. The clamp moves onto the
 * scores (s >= lo, lo = (m - 14) / sc: y >= -14 within FP16's rounding of lo, which |m| <= 512
 * keeps under half a unit, so 2^n stays >= 2^-15). Scores above the max by FP16 rounding give
 * n = 1 at most. Rows outside that range, or a scale that is not positive, take
 * exp_row_clamped. Two LMUL-1 strips per pass (the loop's scalar work halves), then the tail. */
static float exp_row(mf_f16 *s, int32_t n, float scale, float mx)
{
    const _Float16 sc = (_Float16)(LOG2E * scale);
    const _Float16 c = (_Float16)(VEXP_SHIFT - LOG2E * mx);
    const float m = VEXP_SHIFT - (float)c;
    if (!((float)sc > 0.0f) || !(fabsf(m) <= 512.0f)) return exp_row_clamped(s, n, scale, mx);
    const _Float16 lo = (_Float16)((m - 14.0f) / (float)sc);
    const size_t w1 = __riscv_vsetvlmax_e16m1();
    const vfloat16m1_t vc = __riscv_vfmv_v_f_f16m1(c, w1);
    VEXP_H_CONSTS;
    vfloat32m2_t acc = __riscv_vfmv_v_f_f32m2(0.0f, __riscv_vsetvlmax_e32m2());
#define EXP_STRIP(p, vl) exp_strip(p, lo, sc, c, vc, vexp_c3, vexp_c2, vexp_c1, vexp_one, vl)
    int32_t j = 0;
    for (; j + 2 * (int32_t)w1 <= n; j += 2 * (int32_t)w1) {
        _Float16 *p = (_Float16 *)(s + j);
        const vfloat16m1_t e0 = EXP_STRIP(p, w1);
        const vfloat16m1_t e1 = EXP_STRIP(p + w1, w1);
        acc = __riscv_vfwadd_wv_f32m2(__riscv_vfwadd_wv_f32m2(acc, e0, w1), e1, w1);
        __riscv_vse16_v_f16m1(p, e0, w1);
        __riscv_vse16_v_f16m1(p + w1, e1, w1);
    }
    while (j < n) {
        const size_t vl = __riscv_vsetvl_e16m1((size_t)(n - j));
        _Float16 *p = (_Float16 *)(s + j);
        const vfloat16m1_t e = EXP_STRIP(p, vl);
        acc = __riscv_vfwadd_wv_f32m2_tu(acc, acc, e, vl); /* tail lanes keep their sums */
        __riscv_vse16_v_f16m1(p, e, vl);
        j += (int32_t)vl;
    }
#undef EXP_STRIP
    return 1.0f / __riscv_vfmv_f_s_f32m1_f32(__riscv_vfredusum_vs_f32m2_f32m1(
                      acc, __riscv_vfmv_s_f_f32m1(0.0f, 1), __riscv_vsetvlmax_e32m2()));
}

/* y[0 .. n) *= f */
static void scale_row(mf_f16 *y, int32_t n, float f)
{
    for (int32_t j = 0; j < n;) {
        const size_t vl = __riscv_vsetvl_e16m1((size_t)(n - j));
        __riscv_vse16_v_f16m1((_Float16 *)(y + j),
                              __riscv_vfmul_vf_f16m1(__riscv_vle16_v_f16m1((const _Float16 *)(y + j), vl),
                                                     (_Float16)f, vl), vl);
        j += (int32_t)vl;
    }
}

static void attend_rows(const mf_f16 *q, const mf_f16 *k, const mf_f16 *v, const mf_f16 *bias, int32_t bias_heads,
                        mf_f16 *out, mf_f16 *scratch, const mf_attention_desc *d)
{
    const int32_t n_kv = d->n_kv, dh = d->dh;
    /* exps unnormalised (exp_row), 1 / sum after PV: rows with a bias (after bias_row, which
     * returns the biased row's max), and without one for a scale >= 0 (the max is then scale
     * times qk_rows' max); a negative scale without bias takes vsoftmax (its max is the min) */
    const int fast = !bias && d->scale >= 0.0f;
    mf_f16 qbuf[ROW_DH * ROWS_AT_ONCE];
    float top[ROWS_AT_ONCE], inv[ROWS_AT_ONCE];
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
                for (int32_t r = 0; r < ROWS_AT_ONCE; ++r) { /* q rows interleaved: a row's load, a strided store */
                    const mf_f16 *qr = qb + (i0 + (r < nr ? r : nr - 1)) * d->q_stride + col;
                    for (int32_t e = 0; e < dh;) {
                        const size_t vl = __riscv_vsetvl_e16m1((size_t)(dh - e));
                        __riscv_vsse16_v_f16m1((_Float16 *)(qbuf + e * ROWS_AT_ONCE + r), ROWS_AT_ONCE * 2,
                                               __riscv_vle16_v_f16m1((const _Float16 *)(qr + e), vl), vl);
                        e += (int32_t)vl;
                    }
                }
                qk_rows(qbuf, nr, kb + col, d->k_stride, dh, scratch, n_kv, top);
                for (int32_t r = 0; r < nr; ++r) {
                    mf_f16 *row = scratch + r * n_kv;
                    inv[r] = 1.0f;
                    if (bh) {
                        const float hi = bias_row(row, bh + (i0 + r) * n_kv, n_kv, d->scale);
                        if (hi == -INFINITY)
                            for (int32_t j = 0; j < n_kv; ++j) row[j] = (mf_f16)0.0f; /* fully masked: zeros */
                        else
                            inv[r] = exp_row(row, n_kv, 1.0f, hi);
                    } else if (fast) {
                        inv[r] = exp_row(row, n_kv, d->scale, d->scale * top[r]);
                    } else {
                        vsoftmax(row, n_kv, d->scale);
                    }
                }
                /* these rows' q columns of head h are consumed (copied): the output may overwrite them */
                mf_f16 *o = ob + i0 * d->out_stride + col;
                mf_gemm_panel_f16_rvv(scratch, n_kv, vb + col, d->v_stride, o, d->out_stride, nr, dh, n_kv, NULL, 0);
                if (fast || bh)
                    for (int32_t r = 0; r < nr; ++r) scale_row(o + r * d->out_stride, dh, inv[r]);
            }
        }
    }
}

/* bias: NULL, or [bias_heads][n_q][n_kv] added to the scaled scores (mf_attention_bias.h) */
static int attend(const mf_f16 *q, const mf_f16 *k, const mf_f16 *v, const mf_f16 *bias, int32_t bias_heads,
                  mf_f16 *out, mf_f16 *scratch, const mf_attention_desc *d)
{
    if (!q || !k || !v || !out || !scratch || !d || d->n_kv < 1 || d->dh < 1 || !d->k_panel) return MF_EARG;
    const int32_t rows = d->q_block > 1 ? d->q_block : 1, n_kv = d->n_kv, dh = d->dh;
    /* the row path's four score rows fit in the K panel's scratch (dh >= 3) */
    if (rows == 1 && dh <= ROW_DH && dh >= ROWS_AT_ONCE - 1) {
        attend_rows(q, k, v, bias, bias_heads, out, scratch, d);
        return MF_OK;
    }
    mf_f16 *s = scratch, *kt = scratch + rows * n_kv + dh; /* kt: [dh][n_kv] */
    for (int32_t b = 0; b < d->batch; ++b) {
        const mf_f16 *qb = q + b * d->n_q * d->q_stride;
        const mf_f16 *kb = k + b * n_kv * d->k_stride;
        const mf_f16 *vb = v + b * n_kv * d->v_stride;
        mf_f16 *ob = out + b * d->n_q * d->out_stride;
        for (int32_t h = 0; h < d->heads; ++h) {
            const int32_t col = h * dh;
            for (int32_t e = 0; e < dh; ++e)
                for (int32_t j = 0; j < n_kv;) {
                    const size_t vl = setvl(n_kv - j);
                    const vh kc = __riscv_vlse16_v_f16m2((const _Float16 *)(kb + j * d->k_stride + col + e),
                                                         (ptrdiff_t)d->k_stride * 2, vl);
                    store(kt + e * n_kv + j, kc, vl);
                    j += (int32_t)vl;
                }
            for (int32_t i0 = 0; i0 < d->n_q; i0 += rows) {
                const int32_t nr = d->n_q - i0 < rows ? d->n_q - i0 : rows;
                mf_gemm_panel_f16_rvv(qb + i0 * d->q_stride + col, d->q_stride, kt, n_kv, s, n_kv, nr, n_kv, dh,
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
                mf_gemm_panel_f16_rvv(s, n_kv, vb + col, d->v_stride, ob + i0 * d->out_stride + col, d->out_stride,
                                      nr, dh, n_kv, NULL, 0);
            }
        }
    }
    return MF_OK;
}

int mf_attention_f16_rvv(const mf_f16 *q, const mf_f16 *k, const mf_f16 *v, mf_f16 *out, mf_f16 *scratch,
                         const mf_attention_desc *d)
{
    return attend(q, k, v, NULL, 0, out, scratch, d);
}

int mf_attention_bias_f16_rvv(const mf_f16 *q, const mf_f16 *k, const mf_f16 *v, const mf_f16 *bias,
                              int32_t bias_heads, mf_f16 *out, mf_f16 *scratch, const mf_attention_desc *d)
{
    if (!bias || !d || (bias_heads != 1 && bias_heads != d->heads)) return MF_EARG;
    return attend(q, k, v, bias, bias_heads, out, scratch, d);
}

/* ---------------------------------------------------------------- patch embedding */

/* Patches 0..nt-1 from x (the image at channel 0, first row of the patch row, the first
 * patch's column) times the vl channels of w (the weight row of the first channel): per
 * weight column one strided vector load and one scalar image load + vfmacc per patch.
 * Missing patches (nt < tile) repeat the last one and are not stored. */
static void patch_tile4(const mf_f16 *x, const mf_f16 *w, const mf_patch_embed_desc *d, vh seed, mf_f16 *c,
                        int32_t nt, size_t vl)
{
    const int32_t ph = d->patch_h, pw = d->patch_w, plane = d->h * d->w;
    const ptrdiff_t wstride = (ptrdiff_t)d->c * ph * pw * 2; /* bytes between channels' weights */
    const int32_t f0 = (0 < nt ? 0 : nt - 1) * pw;
    const int32_t f1 = (1 < nt ? 1 : nt - 1) * pw;
    const int32_t f2 = (2 < nt ? 2 : nt - 1) * pw;
    const int32_t f3 = (3 < nt ? 3 : nt - 1) * pw;
    vh a0 = seed, a1 = seed, a2 = seed, a3 = seed;
    for (int32_t ch = 0; ch < d->c; ++ch)
        for (int32_t ky = 0; ky < ph; ++ky) {
            const mf_f16 *xp = x + ch * plane + ky * d->w;
            const mf_f16 *wk = w + (ch * ph + ky) * pw;
            for (int32_t kx = 0; kx < pw; ++kx) {
                const vh wv = __riscv_vlse16_v_f16m2((const _Float16 *)(wk + kx), wstride, vl);
                a0 = __riscv_vfmacc_vf_f16m2(a0, xp[f0 + kx], wv, vl);
                a1 = __riscv_vfmacc_vf_f16m2(a1, xp[f1 + kx], wv, vl);
                a2 = __riscv_vfmacc_vf_f16m2(a2, xp[f2 + kx], wv, vl);
                a3 = __riscv_vfmacc_vf_f16m2(a3, xp[f3 + kx], wv, vl);
            }
        }
    store(c, a0, vl);
    if (1 < nt) store(c + 1 * d->dim, a1, vl);
    if (2 < nt) store(c + 2 * d->dim, a2, vl);
    if (3 < nt) store(c + 3 * d->dim, a3, vl);
}

static void patch_tile8(const mf_f16 *x, const mf_f16 *w, const mf_patch_embed_desc *d, vh seed, mf_f16 *c,
                        int32_t nt, size_t vl)
{
    const int32_t ph = d->patch_h, pw = d->patch_w, plane = d->h * d->w;
    const ptrdiff_t wstride = (ptrdiff_t)d->c * ph * pw * 2; /* bytes between channels' weights */
    const int32_t f0 = (0 < nt ? 0 : nt - 1) * pw;
    const int32_t f1 = (1 < nt ? 1 : nt - 1) * pw;
    const int32_t f2 = (2 < nt ? 2 : nt - 1) * pw;
    const int32_t f3 = (3 < nt ? 3 : nt - 1) * pw;
    const int32_t f4 = (4 < nt ? 4 : nt - 1) * pw;
    const int32_t f5 = (5 < nt ? 5 : nt - 1) * pw;
    const int32_t f6 = (6 < nt ? 6 : nt - 1) * pw;
    const int32_t f7 = (7 < nt ? 7 : nt - 1) * pw;
    vh a0 = seed, a1 = seed, a2 = seed, a3 = seed, a4 = seed, a5 = seed, a6 = seed, a7 = seed;
    for (int32_t ch = 0; ch < d->c; ++ch)
        for (int32_t ky = 0; ky < ph; ++ky) {
            const mf_f16 *xp = x + ch * plane + ky * d->w;
            const mf_f16 *wk = w + (ch * ph + ky) * pw;
            for (int32_t kx = 0; kx < pw; ++kx) {
                const vh wv = __riscv_vlse16_v_f16m2((const _Float16 *)(wk + kx), wstride, vl);
                a0 = __riscv_vfmacc_vf_f16m2(a0, xp[f0 + kx], wv, vl);
                a1 = __riscv_vfmacc_vf_f16m2(a1, xp[f1 + kx], wv, vl);
                a2 = __riscv_vfmacc_vf_f16m2(a2, xp[f2 + kx], wv, vl);
                a3 = __riscv_vfmacc_vf_f16m2(a3, xp[f3 + kx], wv, vl);
                a4 = __riscv_vfmacc_vf_f16m2(a4, xp[f4 + kx], wv, vl);
                a5 = __riscv_vfmacc_vf_f16m2(a5, xp[f5 + kx], wv, vl);
                a6 = __riscv_vfmacc_vf_f16m2(a6, xp[f6 + kx], wv, vl);
                a7 = __riscv_vfmacc_vf_f16m2(a7, xp[f7 + kx], wv, vl);
            }
        }
    store(c, a0, vl);
    if (1 < nt) store(c + 1 * d->dim, a1, vl);
    if (2 < nt) store(c + 2 * d->dim, a2, vl);
    if (3 < nt) store(c + 3 * d->dim, a3, vl);
    if (4 < nt) store(c + 4 * d->dim, a4, vl);
    if (5 < nt) store(c + 5 * d->dim, a5, vl);
    if (6 < nt) store(c + 6 * d->dim, a6, vl);
    if (7 < nt) store(c + 7 * d->dim, a7, vl);
}

int mf_patch_embed_f16_rvv(const mf_f16 *x, const mf_f16 *weight, const mf_f16 *bias, const mf_f16 *cls,
                           const mf_f16 *pos, mf_f16 *out, mf_f16 *scratch, const mf_patch_embed_desc *d)
{
    if (!x || !weight || !out || !scratch || !d || d->patch_h < 1 || d->patch_w < 1) return MF_EARG;
    const int32_t ph = d->patch_h, pw = d->patch_w, kdim = d->c * ph * pw;
    const int32_t first = d->has_cls ? 1 : 0;
    for (int32_t r = 0; r < d->hp; ++r) {
        const mf_f16 *xr = x + r * ph * d->w;
        for (int32_t o0 = 0; o0 < d->dim;) {
            const size_t vl = setvl(d->dim - o0);
            const vh seed = bias ? load(bias + o0, vl) : __riscv_vfmv_v_f_f16m2((_Float16)0.0f, vl);
            const mf_f16 *wo = weight + o0 * kdim;
            for (int32_t t = 0; t < d->wp;) {
                const int32_t left = d->wp - t;
                const int32_t nt = left >= 5 ? (left < 8 ? left : 8) : left;
                if (nt >= 5) patch_tile8(xr + t * pw, wo, d, seed, scratch + t * d->dim + o0, nt, vl);
                else patch_tile4(xr + t * pw, wo, d, seed, scratch + t * d->dim + o0, nt, vl);
                t += nt;
            }
            o0 += (int32_t)vl;
        }
        /* Patch row r is consumed: its tokens may now be written, over it if out == x. */
        mf_f16 *dst = out + (first + r * d->wp) * d->dim;
        const mf_f16 *pe = pos ? pos + (first + r * d->wp) * d->dim : NULL;
        const int32_t n = d->wp * d->dim;
        for (int32_t j = 0; j < n;) {
            const size_t vl = setvl(n - j);
            vh val = load(scratch + j, vl);
            if (pe) val = __riscv_vfadd_vv_f16m2(val, load(pe + j, vl), vl);
            store(dst + j, val, vl);
            j += (int32_t)vl;
        }
    }
    if (d->has_cls) /* last: row 0 of out may overlay input that patch row 0 needed */
        for (int32_t o = 0; o < d->dim; ++o)
            out[o] = (mf_f16)((cls ? (float)cls[o] : 0.0f) + (pos ? (float)pos[o] : 0.0f));
    return MF_OK;
}
#endif
