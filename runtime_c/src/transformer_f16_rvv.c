/* Integrated transformer operators, FP16, RISC-V vector (RVV 1.0 + Zvfh), VLEN-agnostic.
 *
 * - Token chain: a block of tokens through each linear step as one GEMM on the forward GEMM's
 *   panel (gemm_f16_rvv.c: 8 tokens x VLMAX features per outer-product tile, FP16
 *   accumulators), then a vector epilogue adds the bias and applies the activation.
 * - Attention: per head, K is copied transposed into scratch once (strided vector loads), so
 *   QK^T and PV of a block of query rows are two panel GEMMs; the block's scores never leave
 *   scratch.
 * - Patch embedding: output features along the vector, 4 patches per tile; the conv weight
 *   ([dim][c*ph*pw]) is read down its columns with strided loads, the image by scalar loads.
 * LayerNorm statistics, softmax exponentials and GELU run in FP32 vectors (e32, LMUL 4: as
 * many lanes as an e16 LMUL-2 strip), so only storage rounds to FP16: |error| of GELU and exp
 * as in transformer_f32_dsp.c, plus one FP16 rounding. */
#if defined(__riscv_vector)
#include <riscv_vector.h>

#include <math.h>

#include "mf_elementwise.h"
#include "mf_fast.h"
#include "mf_transformer.h"

typedef vfloat16m2_t vh;
typedef vfloat32m4_t vf;

static inline size_t setvl(int32_t n)
{
    return __riscv_vsetvl_e16m2((size_t)n);
}

static inline vh load(const mf_f16 *p, size_t vl)
{
    return __riscv_vle16_v_f16m2((const _Float16 *)p, vl);
}

static inline void store(mf_f16 *p, vh v, size_t vl)
{
    __riscv_vse16_v_f16m2((_Float16 *)p, v, vl);
}

static inline vf widen(vh v, size_t vl)
{
    return __riscv_vfwcvt_f_f_v_f32m4(v, vl);
}

static inline vh narrow(vf v, size_t vl)
{
    return __riscv_vfncvt_f_f_w_f16m2(v, vl);
}

/* ---------------------------------------------------------------- FP32 vector math */

/* exp(x) for x <= 0, as exp_nonpos in transformer_f32_dsp.c: 2^n e^r, Taylor degree 6. */
static inline vf vexp_nonpos(vf x, size_t vl)
{
    const float shifter = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
    x = __riscv_vfmax_vf_f32m4(x, -87.0f, vl);
    const vf t = __riscv_vfmacc_vf_f32m4(__riscv_vfmv_v_f_f32m4(shifter, vl), 1.44269504f, x, vl);
    const vf nf = __riscv_vfsub_vf_f32m4(t, shifter, vl);
    vf r = __riscv_vfnmsac_vf_f32m4(x, 0.693145752f, nf, vl);
    r = __riscv_vfnmsac_vf_f32m4(r, 1.42860677e-06f, nf, vl);
    vf p = __riscv_vfmv_v_f_f32m4(1.0f / 120.0f, vl);
    p = __riscv_vfmacc_vf_f32m4(p, 1.0f / 720.0f, r, vl);
    p = __riscv_vfmadd_vv_f32m4(p, r, __riscv_vfmv_v_f_f32m4(1.0f / 24.0f, vl), vl);
    p = __riscv_vfmadd_vv_f32m4(p, r, __riscv_vfmv_v_f_f32m4(1.0f / 6.0f, vl), vl);
    p = __riscv_vfmadd_vv_f32m4(p, r, __riscv_vfmv_v_f_f32m4(0.5f, vl), vl);
    p = __riscv_vfmadd_vv_f32m4(p, r, __riscv_vfmv_v_f_f32m4(1.0f, vl), vl);
    p = __riscv_vfmadd_vv_f32m4(p, r, __riscv_vfmv_v_f_f32m4(1.0f, vl), vl);
    vuint32m4_t n = __riscv_vreinterpret_v_f32m4_u32m4(t);
    n = __riscv_vsll_vx_u32m4(__riscv_vadd_vx_u32m4(n, 127u - 0x4B400000u, vl), 23, vl);
    return __riscv_vfmul_vv_f32m4(p, __riscv_vreinterpret_v_u32m4_f32m4(n), vl);
}

/* GELU (erf form), as gelu in transformer_f32_dsp.c: rational erf on [-4, 4]. */
static inline vf vgelu(vf x, size_t vl)
{
    vf c = __riscv_vfmul_vf_f32m4(x, 0.70710678118654752f, vl);
    c = __riscv_vfmin_vf_f32m4(__riscv_vfmax_vf_f32m4(c, -4.0f, vl), 4.0f, vl);
    const vf c2 = __riscv_vfmul_vv_f32m4(c, c, vl);
    vf p = __riscv_vfmv_v_f_f32m4(2.77068142495902e-08f, vl);
    p = __riscv_vfmacc_vf_f32m4(p, -2.72614225801306e-10f, c2, vl);
    p = __riscv_vfmadd_vv_f32m4(p, c2, __riscv_vfmv_v_f_f32m4(-2.10102402082508e-06f, vl), vl);
    p = __riscv_vfmadd_vv_f32m4(p, c2, __riscv_vfmv_v_f_f32m4(-5.69250639462346e-05f, vl), vl);
    p = __riscv_vfmadd_vv_f32m4(p, c2, __riscv_vfmv_v_f_f32m4(-7.34990630326855e-04f, vl), vl);
    p = __riscv_vfmadd_vv_f32m4(p, c2, __riscv_vfmv_v_f_f32m4(-2.95459980854025e-03f, vl), vl);
    p = __riscv_vfmadd_vv_f32m4(p, c2, __riscv_vfmv_v_f_f32m4(-1.60960333262415e-02f, vl), vl);
    vf q = __riscv_vfmv_v_f_f32m4(-2.13374055278905e-04f, vl);
    q = __riscv_vfmacc_vf_f32m4(q, -1.45660718464996e-05f, c2, vl);
    q = __riscv_vfmadd_vv_f32m4(q, c2, __riscv_vfmv_v_f_f32m4(-1.68282697438203e-03f, vl), vl);
    q = __riscv_vfmadd_vv_f32m4(q, c2, __riscv_vfmv_v_f_f32m4(-7.37332916720468e-03f, vl), vl);
    q = __riscv_vfmadd_vv_f32m4(q, c2, __riscv_vfmv_v_f_f32m4(-1.42647390514189e-02f, vl), vl);
    const vf erf = __riscv_vfdiv_vv_f32m4(__riscv_vfmul_vv_f32m4(c, p, vl), q, vl);
    const vf half_x = __riscv_vfmul_vf_f32m4(x, 0.5f, vl);
    return __riscv_vfmacc_vv_f32m4(half_x, half_x, erf, vl); /* x/2 + x/2 * erf */
}

static inline float vsum(vf v, size_t vl)
{
    return __riscv_vfmv_f_s_f32m1_f32(
        __riscv_vfredusum_vs_f32m4_f32m1(v, __riscv_vfmv_s_f_f32m1(0.0f, 1), vl));
}

/* ---------------------------------------------------------------- token chain */

/* y[n][w] = act(y + bias) in place, vector by vector. */
static void bias_act(mf_f16 *y, int32_t n, int32_t w, const mf_f16 *bias, const mf_act *act)
{
    const int simple = act->kind == MF_ACT_NONE || act->kind == MF_ACT_RELU || act->kind == MF_ACT_GELU;
    if (!bias && act->kind == MF_ACT_NONE) return;
    for (int32_t r = 0; r < n; ++r) {
        mf_f16 *yr = y + r * w;
        for (int32_t j = 0; j < w;) {
            const size_t vl = setvl(w - j);
            vh v = load(yr + j, vl);
            if (bias) v = __riscv_vfadd_vv_f16m2(v, load(bias + j, vl), vl);
            if (act->kind == MF_ACT_RELU) v = __riscv_vfmax_vf_f16m2(v, (_Float16)0.0f, vl);
            else if (act->kind == MF_ACT_GELU) v = narrow(vgelu(widen(v, vl), vl), vl);
            store(yr + j, v, vl);
            j += (int32_t)vl;
        }
        if (!simple)
            for (int32_t j = 0; j < w; ++j) yr[j] = (mf_f16)mf_act_apply_f32(act, (float)yr[j]);
    }
}

static void layernorm_row(const mf_token_step_f16 *st, const mf_f16 *x, mf_f16 *y)
{
    const int32_t n = st->in_w;
    float sum = 0.0f, var = 0.0f;
    for (int32_t j = 0; j < n;) {
        const size_t vl = setvl(n - j);
        sum += vsum(widen(load(x + j, vl), vl), vl);
        j += (int32_t)vl;
    }
    const float mean = sum / (float)n;
    for (int32_t j = 0; j < n;) {
        const size_t vl = setvl(n - j);
        const vf d = __riscv_vfsub_vf_f32m4(widen(load(x + j, vl), vl), mean, vl);
        var += vsum(__riscv_vfmul_vv_f32m4(d, d, vl), vl);
        j += (int32_t)vl;
    }
    const float inv = 1.0f / sqrtf(var / (float)n + st->eps);
    for (int32_t j = 0; j < n;) {
        const size_t vl = setvl(n - j);
        vf v = __riscv_vfmul_vf_f32m4(__riscv_vfsub_vf_f32m4(widen(load(x + j, vl), vl), mean, vl), inv, vl);
        if (st->gamma) v = __riscv_vfmul_vv_f32m4(v, widen(load(st->gamma + j, vl), vl), vl);
        if (st->beta) v = __riscv_vfadd_vv_f32m4(v, widen(load(st->beta + j, vl), vl), vl);
        store(y + j, narrow(v, vl), vl);
        j += (int32_t)vl;
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
    for (int32_t t0 = 0; t0 < d->tokens; t0 += block) {
        const int32_t nb = d->tokens - t0 < block ? d->tokens - t0 : block;
        const mf_f16 *src = x + t0 * in_w;
        mf_f16 *buf = scratch;
        for (int32_t s = 0; s < d->n_steps; ++s) {
            const mf_token_step_f16 *st = &d->steps[s];
            if (st->kind == MF_STEP_LINEAR) {
                mf_gemm_panel_f16_rvv(src, st->in_w, st->w, st->out_w, buf, st->out_w, nb, st->out_w, st->in_w,
                                      NULL, 0);
                bias_act(buf, nb, st->out_w, st->b, &st->act);
            } else if (st->kind == MF_STEP_LAYERNORM) {
                for (int32_t r = 0; r < nb; ++r) layernorm_row(st, src + r * st->in_w, buf + r * st->in_w);
            } else {
                for (int32_t j = 0; j < nb * st->out_w; ++j) buf[j] = src[j];
                bias_act(buf, nb, st->out_w, NULL, &st->act);
            }
            src = buf;
            buf = (buf == scratch) ? scratch + half : scratch;
        }
        /* The block's input rows are all read: its output rows may land on them. */
        mf_f16 *dst = y + t0 * out_w;
        const mf_f16 *res = residual ? residual + t0 * out_w : NULL;
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

/* s[n] <- softmax(scale * s) with the exponentials and their sum in FP32. */
static void softmax_row(mf_f16 *s, int32_t n, float scale)
{
    float hi = (float)s[0], lo = hi;
    for (int32_t j = 0; j < n;) {
        const size_t vl = setvl(n - j);
        const vh v = load(s + j, vl);
        const vfloat16m1_t init = __riscv_vfmv_s_f_f16m1(s[0], 1);
        hi = fmaxf(hi, (float)__riscv_vfmv_f_s_f16m1_f16(__riscv_vfredmax_vs_f16m2_f16m1(v, init, vl)));
        lo = fminf(lo, (float)__riscv_vfmv_f_s_f16m1_f16(__riscv_vfredmin_vs_f16m2_f16m1(v, init, vl)));
        j += (int32_t)vl;
    }
    const float mx = scale >= 0.0f ? scale * hi : scale * lo; /* max of scale * s */
    float sum = 0.0f;
    for (int32_t j = 0; j < n;) {
        const size_t vl = setvl(n - j);
        const vf z = __riscv_vfmsub_vf_f32m4(widen(load(s + j, vl), vl), scale, __riscv_vfmv_v_f_f32m4(mx, vl), vl);
        const vf e = vexp_nonpos(z, vl);
        sum += vsum(e, vl);
        store(s + j, narrow(e, vl), vl);
        j += (int32_t)vl;
    }
    const _Float16 inv = (_Float16)(1.0f / sum);
    for (int32_t j = 0; j < n;) {
        const size_t vl = setvl(n - j);
        store(s + j, __riscv_vfmul_vf_f16m2(load(s + j, vl), inv, vl), vl);
        j += (int32_t)vl;
    }
}

int mf_attention_f16_rvv(const mf_f16 *q, const mf_f16 *k, const mf_f16 *v, mf_f16 *out, mf_f16 *scratch,
                         const mf_attention_desc *d)
{
    if (!q || !k || !v || !out || !scratch || !d || d->n_kv < 1 || d->dh < 1 || !d->k_panel) return MF_EARG;
    const int32_t rows = d->q_block > 1 ? d->q_block : 1, n_kv = d->n_kv, dh = d->dh;
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
                for (int32_t r = 0; r < nr; ++r) softmax_row(s + r * n_kv, n_kv, d->scale);
                /* this block's q columns of head h are consumed: the output may overwrite them */
                mf_gemm_panel_f16_rvv(s, n_kv, vb + col, d->v_stride, ob + i0 * d->out_stride + col, d->out_stride,
                                      nr, dh, n_kv, NULL, 0);
            }
        }
    }
    return MF_OK;
}

/* ---------------------------------------------------------------- patch embedding */

int mf_patch_embed_f16_rvv(const mf_f16 *x, const mf_f16 *weight, const mf_f16 *bias, const mf_f16 *cls,
                           const mf_f16 *pos, mf_f16 *out, mf_f16 *scratch, const mf_patch_embed_desc *d)
{
    if (!x || !weight || !out || !scratch || !d || d->patch_h < 1 || d->patch_w < 1) return MF_EARG;
    const int32_t ph = d->patch_h, pw = d->patch_w, kdim = d->c * ph * pw, plane = d->h * d->w;
    const ptrdiff_t wstride = (ptrdiff_t)kdim * 2; /* bytes between channels' weights */
    const int32_t first = d->has_cls ? 1 : 0;
    for (int32_t r = 0; r < d->hp; ++r) {
        const mf_f16 *xr = x + r * ph * d->w;
        for (int32_t o0 = 0; o0 < d->dim;) {
            const size_t vl = setvl(d->dim - o0);
            const vh seed = bias ? load(bias + o0, vl) : __riscv_vfmv_v_f_f16m2((_Float16)0.0f, vl);
            const mf_f16 *wo = weight + o0 * kdim;
            int32_t t = 0;
            for (; t + 4 <= d->wp; t += 4) { /* 4 patches: 4 scalar loads per strided weight load */
                vh a0 = seed, a1 = seed, a2 = seed, a3 = seed;
                for (int32_t ch = 0; ch < d->c; ++ch)
                    for (int32_t ky = 0; ky < ph; ++ky) {
                        const mf_f16 *xp = xr + ch * plane + ky * d->w + t * pw;
                        const mf_f16 *wk = wo + (ch * ph + ky) * pw;
                        for (int32_t kx = 0; kx < pw; ++kx) {
                            const vh wv = __riscv_vlse16_v_f16m2((const _Float16 *)(wk + kx), wstride, vl);
                            a0 = __riscv_vfmacc_vf_f16m2(a0, xp[kx], wv, vl);
                            a1 = __riscv_vfmacc_vf_f16m2(a1, xp[pw + kx], wv, vl);
                            a2 = __riscv_vfmacc_vf_f16m2(a2, xp[2 * pw + kx], wv, vl);
                            a3 = __riscv_vfmacc_vf_f16m2(a3, xp[3 * pw + kx], wv, vl);
                        }
                    }
                store(scratch + t * d->dim + o0, a0, vl);
                store(scratch + (t + 1) * d->dim + o0, a1, vl);
                store(scratch + (t + 2) * d->dim + o0, a2, vl);
                store(scratch + (t + 3) * d->dim + o0, a3, vl);
            }
            for (; t < d->wp; ++t) { /* leftover patches, one at a time */
                vh a0 = seed;
                for (int32_t ch = 0; ch < d->c; ++ch)
                    for (int32_t ky = 0; ky < ph; ++ky) {
                        const mf_f16 *xp = xr + ch * plane + ky * d->w + t * pw;
                        const mf_f16 *wk = wo + (ch * ph + ky) * pw;
                        for (int32_t kx = 0; kx < pw; ++kx)
                            a0 = __riscv_vfmacc_vf_f16m2(
                                a0, xp[kx], __riscv_vlse16_v_f16m2((const _Float16 *)(wk + kx), wstride, vl), vl);
                    }
                store(scratch + t * d->dim + o0, a0, vl);
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
