/* FP32 depthwise convolution for cores without float SIMD (Cortex-M4/M7), see mf_depthwise.h.
 *
 * 3x3 windows (dilation 1 along the row) slide along each output row with the nine weights and
 * the window's columns in S registers: at stride 1 each output loads 3 new values for 9 FMAs
 * (4 outputs per iteration), at stride 2 six (2 per iteration). Columns left of the input
 * start the window as zeros, columns past its end are the tail's zeros; a kernel row over the
 * top/bottom padding gets zero weights and any valid row. Other windows take a generic loop
 * (clipped per pixel only on the border columns). */
#include "mf_elementwise.h"
#include "mf_fast.h"

#define MF_T float
#define MF_REF(op) op##_f32_ref
#define MF_DW(op) op##_f32_dsp
#include "depthwise_drive.inc"

#define INLINE static inline __attribute__((always_inline))

typedef struct {
    float k0, k1, k2, k3, k4, k5, k6, k7, k8;
} w9;

INLINE float act(float v, int mode, float lo, float hi)
{
    if (mode == 1) return __builtin_fmaxf(v, 0.0f);
    if (mode == 2) return __builtin_fminf(__builtin_fmaxf(v, lo), hi);
    return v;
}

/* One output from the three rows' window columns (a: row 0, c: row 1, e: row 2). */
#define DOT(a0, a1, a2, c0, c1, c2, e0, e1, e2)                                                   \
    MF_FMA(k.k8, e2, MF_FMA(k.k7, e1, MF_FMA(k.k6, e0, MF_FMA(k.k5, c2, MF_FMA(k.k4, c1,       \
        MF_FMA(k.k3, c0, MF_FMA(k.k2, a2, MF_FMA(k.k1, a1, MF_FMA(k.k0, a0, b)))))))))

INLINE float at(const float *r, int32_t col, int32_t w_in)
{
    return col >= 0 && col < w_in ? r[col] : 0.0f;
}

/* Stride 1: output ow reads columns ow - pl + {0, 1, 2}. */
INLINE void row_s1(const float *r0, const float *r1, const float *r2, float *y, w9 k, float b,
                   const mf_dw_geom *g, int mode)
{
    const int32_t pl = g->pl, w_in = g->w_in, n = g->w_out;
    int32_t main = w_in + pl - 2; /* outputs whose newest column is inside the row */
    if (main > n) main = n;
    float a0 = at(r0, -pl, w_in), a1 = at(r0, 1 - pl, w_in);
    float c0 = at(r1, -pl, w_in), c1 = at(r1, 1 - pl, w_in);
    float e0 = at(r2, -pl, w_in), e1 = at(r2, 1 - pl, w_in);
    const float *p0 = r0 + 2 - pl, *p1 = r1 + 2 - pl, *p2 = r2 + 2 - pl;
    const float lo = g->amin, hi = g->amax;
    int32_t ow = 0;
    for (; ow + 4 <= main; ow += 4, p0 += 4, p1 += 4, p2 += 4, y += 4) {
        const float a2 = p0[0], a3 = p0[1], a4 = p0[2], a5 = p0[3];
        const float c2 = p1[0], c3 = p1[1], c4 = p1[2], c5 = p1[3];
        const float e2 = p2[0], e3 = p2[1], e4 = p2[2], e5 = p2[3];
        y[0] = act(DOT(a0, a1, a2, c0, c1, c2, e0, e1, e2), mode, lo, hi);
        y[1] = act(DOT(a1, a2, a3, c1, c2, c3, e1, e2, e3), mode, lo, hi);
        y[2] = act(DOT(a2, a3, a4, c2, c3, c4, e2, e3, e4), mode, lo, hi);
        y[3] = act(DOT(a3, a4, a5, c3, c4, c5, e3, e4, e5), mode, lo, hi);
        a0 = a4, a1 = a5, c0 = c4, c1 = c5, e0 = e4, e1 = e5;
    }
    for (; ow < n; ++ow, ++p0, ++p1, ++p2, ++y) { /* the last few, then the right padding */
        const int in = ow < main;
        const float a2 = in ? p0[0] : 0.0f, c2 = in ? p1[0] : 0.0f, e2 = in ? p2[0] : 0.0f;
        y[0] = act(DOT(a0, a1, a2, c0, c1, c2, e0, e1, e2), mode, lo, hi);
        a0 = a1, a1 = a2, c0 = c1, c1 = c2, e0 = e1, e1 = e2;
    }
}

/* Stride 1, one column of padding each side (w_out == w_in): the input columns stream
 * through three accumulators, each column finishing output j - 1 (kw = 2), continuing output
 * j (kw = 1) and starting output j + 1 (kw = 0); unrolled by three the accumulators rotate by
 * name, so the loop holds no register moves: per output 3 loads, 9 FMAs, the bias move, the
 * activation and the store. Padding taps are skipped, not multiplied by zero. With `saving`
 * the middle row's values are also stored to `save` as they are read (the in-place ring). */
#define TAP(acc, q0, q1, q2) MF_FMA(k.q2, u2, MF_FMA(k.q1, u1, MF_FMA(k.q0, u0, acc)))
#define LOAD(j)                                                                                 \
    u0 = r0[j], u1 = r1[j], u2 = r2[j];                                                         \
    if (saving) save[j] = u1
INLINE void row_same(const float *r0, const float *r1, const float *r2, float *y, w9 k, float b,
                     int32_t n, int mode, float lo, float hi, int saving, float *save)
{
    float u0, u1, u2, A, B, C;
    LOAD(0);
    A = TAP(b, k1, k4, k7); /* output 0 */
    B = TAP(b, k0, k3, k6); /* output 1 */
    int32_t j = 1;
    for (; j + 3 <= n - 1; j += 3) {
        LOAD(j);
        A = TAP(A, k2, k5, k8), y[j - 1] = act(A, mode, lo, hi);
        B = TAP(B, k1, k4, k7), C = TAP(b, k0, k3, k6);
        LOAD(j + 1);
        B = TAP(B, k2, k5, k8), y[j] = act(B, mode, lo, hi);
        C = TAP(C, k1, k4, k7), A = TAP(b, k0, k3, k6);
        LOAD(j + 2);
        C = TAP(C, k2, k5, k8), y[j + 1] = act(C, mode, lo, hi);
        A = TAP(A, k1, k4, k7), B = TAP(b, k0, k3, k6);
    }
    for (; j < n - 1; ++j) {
        LOAD(j);
        A = TAP(A, k2, k5, k8), y[j - 1] = act(A, mode, lo, hi);
        C = TAP(b, k0, k3, k6);
        A = TAP(B, k1, k4, k7), B = C;
    }
    LOAD(n - 1);
    A = TAP(A, k2, k5, k8), y[n - 2] = act(A, mode, lo, hi);
    B = TAP(B, k1, k4, k7), y[n - 1] = act(B, mode, lo, hi);
}
#undef LOAD
#undef TAP

/* Stride 2: output ow reads columns 2 ow - pl + {0, 1, 2}; the last is the next's first. */
INLINE void row_s2(const float *r0, const float *r1, const float *r2, float *y, w9 k, float b,
                   const mf_dw_geom *g, int mode)
{
    const int32_t pl = g->pl, w_in = g->w_in, n = g->w_out;
    int32_t main = w_in - 3 + pl >= 0 ? (w_in - 3 + pl) / 2 + 1 : 0;
    if (main > n) main = n;
    float a0 = at(r0, -pl, w_in), c0 = at(r1, -pl, w_in), e0 = at(r2, -pl, w_in);
    const float *p0 = r0 + 1 - pl, *p1 = r1 + 1 - pl, *p2 = r2 + 1 - pl;
    const float lo = g->amin, hi = g->amax;
    int32_t ow = 0;
    for (; ow + 2 <= main; ow += 2, p0 += 4, p1 += 4, p2 += 4, y += 2) {
        const float a1 = p0[0], a2 = p0[1], a3 = p0[2], a4 = p0[3];
        const float c1 = p1[0], c2 = p1[1], c3 = p1[2], c4 = p1[3];
        const float e1 = p2[0], e2 = p2[1], e3 = p2[2], e4 = p2[3];
        y[0] = act(DOT(a0, a1, a2, c0, c1, c2, e0, e1, e2), mode, lo, hi);
        y[1] = act(DOT(a2, a3, a4, c2, c3, c4, e2, e3, e4), mode, lo, hi);
        a0 = a4, c0 = c4, e0 = e4;
    }
    for (; ow < n; ++ow, p0 += 2, p1 += 2, p2 += 2, ++y) {
        const int32_t col = 2 * ow + 1 - pl;
        const float a1 = at(r0, col, w_in), a2 = at(r0, col + 1, w_in);
        const float c1 = at(r1, col, w_in), c2 = at(r1, col + 1, w_in);
        const float e1 = at(r2, col, w_in), e2 = at(r2, col + 1, w_in);
        y[0] = act(DOT(a0, a1, a2, c0, c1, c2, e0, e1, e2), mode, lo, hi);
        a0 = a2, c0 = c2, e0 = e2;
    }
}

INLINE void row3(const float *const *rows, float *yr, w9 k, float b, const mf_dw_geom *g, int mode)
{
    if (g->s_w == 1)
        row_s1(rows[0], rows[1], rows[2], yr, k, b, g, mode);
    else
        row_s2(rows[0], rows[1], rows[2], yr, k, b, g, mode);
}

/* Zero weights for the kernel rows over the top/bottom padding, which read any valid row. */
INLINE int mask_rows(const float **rows, w9 *k)
{
    const float *any = rows[0] ? rows[0] : rows[1] ? rows[1] : rows[2];
    if (!any) return 0;
    if (!rows[0]) k->k0 = k->k1 = k->k2 = 0.0f, rows[0] = any;
    if (!rows[1]) k->k3 = k->k4 = k->k5 = 0.0f, rows[1] = any;
    if (!rows[2]) k->k6 = k->k7 = k->k8 = 0.0f, rows[2] = any;
    return 1;
}

/* 3x3 "same" at stride 1 (pad 1 all round, the MobileNet/DS-CNN case), the whole plane in
 * one function so the weights stay in registers across rows. In place (ring != NULL) output
 * row oh reads the saved row oh - 1 from the ring, rows oh and oh + 1 from x, and saves row oh
 * as it reads it (row_same writes each output column only after reading it): no row copy. */
INLINE void plane_same(const float *xc, w9 k, float b, float *yc, int32_t h, int32_t n,
                       int mode, float lo, float hi, float *ring)
{
    w9 top = k, bot = k;
    top.k0 = top.k1 = top.k2 = 0.0f;
    bot.k6 = bot.k7 = bot.k8 = 0.0f;
    if (h == 1) top.k6 = top.k7 = top.k8 = 0.0f;
    if (ring) { /* first row, the rows between (fixed weights), last row */
        float *x = (float *)xc;
        row_same(x, x, x + (h > 1 ? n : 0), x, top, b, n, mode, lo, hi, 1, ring);
        int32_t oh = 1;
        for (; oh + 1 < h; ++oh) {
            float *r1 = x + oh * n;
            row_same(ring + ((oh - 1) & 1) * n, r1, r1 + n, r1, k, b, n, mode, lo, hi, 1,
                     ring + (oh & 1) * n);
        }
        if (h > 1) {
            float *r1 = x + oh * n;
            row_same(ring + ((oh - 1) & 1) * n, r1, r1, r1, bot, b, n, mode, lo, hi, 0, NULL);
        }
        return;
    }
    row_same(xc, xc, xc + (h > 1 ? n : 0), yc, top, b, n, mode, lo, hi, 0, NULL);
    const float *r0 = xc;
    float *y = yc + n;
    for (int32_t oh = 1; oh + 1 < h; ++oh, r0 += n, y += n)
        row_same(r0, r0 + n, r0 + 2 * n, y, k, b, n, mode, lo, hi, 0, NULL);
    if (h > 1) row_same(r0, r0 + n, r0 + n, y, bot, b, n, mode, lo, hi, 0, NULL);
}

static void plane_same_none(const float *xc, w9 k, float b, float *yc, int32_t h, int32_t n, float *ring)
{
    plane_same(xc, k, b, yc, h, n, 0, 0.0f, 0.0f, ring);
}
static void plane_same_relu(const float *xc, w9 k, float b, float *yc, int32_t h, int32_t n, float *ring)
{
    plane_same(xc, k, b, yc, h, n, 1, 0.0f, 0.0f, ring);
}
static void plane_same_clip(const float *xc, w9 k, float b, float *yc, int32_t h, int32_t n,
                            float lo, float hi, float *ring)
{
    plane_same(xc, k, b, yc, h, n, 2, lo, hi, ring);
}

/* Rows whose window lies inside the input (and, out of place, outside the ring) only move
 * three pointers; the rest resolve their rows through dw_rows. */
INLINE void rows3(const float *xc, const w9 kw, float b, float *yc, const mf_dw_geom *g,
                  float *ring, int mode)
{
    const float *rows[3];
    const int32_t w_out = g->w_out, h_out = g->h_out, step = g->s_h * g->w_in;
    const int32_t d = g->d_h * g->w_in;
    /* output rows [top, bot) read kernel rows all inside the input */
    int32_t top = dw_ceil_div(g->pt, g->s_h), bot = g->h_in - 1 - 2 * g->d_h + g->pt;
    bot = bot >= 0 ? bot / g->s_h + 1 : 0;
    if (bot > h_out) bot = h_out;
    if (top > bot) top = bot;
    if (ring) top = bot = h_out; /* every row reads the ring */
    for (int32_t oh = 0; oh < h_out; ++oh) {
        float *yr = yc + oh * w_out;
        if (oh == top) { /* the interior */
            const float *r0 = xc + (oh * g->s_h - g->pt) * g->w_in;
            for (; oh < bot; ++oh, r0 += step, yr += w_out) {
                rows[0] = r0, rows[1] = r0 + d, rows[2] = r0 + 2 * d;
                row3(rows, yr, kw, b, g, mode);
            }
            if (oh == h_out) break;
        }
        dw_rows(xc, g, ring, oh, rows);
        w9 k = kw;
        if (!mask_rows(rows, &k)) {
            for (int32_t ow = 0; ow < w_out; ++ow) yr[ow] = act(b, mode, g->amin, g->amax);
            continue;
        }
        row3(rows, yr, k, b, g, mode);
    }
}

/* Any window: the interior columns loop over the whole window, border columns clip it. */
static void plane_generic(const float *xc, const float *wc, float b, float *yc,
                          const mf_dw_geom *g, float *ring)
{
    const float *rows[MF_DW_MAX_KW];
    for (int32_t oh = 0; oh < g->h_out; ++oh) {
        float *yr = yc + oh * g->w_out;
        dw_rows(xc, g, ring, oh, rows);
        for (int32_t ow = 0; ow < g->w_out; ++ow) {
            const int border = ow < g->lo || ow >= g->hi;
            const int32_t col = ow * g->s_w - g->pl;
            float acc = b;
            for (int32_t kh = 0; kh < g->k_h; ++kh) {
                if (!rows[kh]) continue;
                const float *r = rows[kh] + col, *wk = wc + kh * g->k_w;
                if (!border) {
                    for (int32_t kw = 0; kw < g->k_w; ++kw) acc = MF_FMA(wk[kw], r[kw * g->d_w], acc);
                } else {
                    for (int32_t kw = 0; kw < g->k_w; ++kw)
                        if (ow >= g->kw_lo[kw] && ow < g->kw_hi[kw]) acc = MF_FMA(wk[kw], r[kw * g->d_w], acc);
                }
            }
            yr[ow] = g->mode == 3 ? acc : act(acc, g->mode, g->amin, g->amax);
        }
        if (g->mode == 3) mf_bias_act_f32(yr, g->w_out, 0.0f, g->act);
    }
}

static void dw_plane(const float *xc, const float *wc, float b, float *yc, const mf_dw_geom *g,
                     float *ring)
{
    const int fast = g->k_h == 3 && g->k_w == 3 && g->d_w == 1 && g->w_in >= 3 &&
                     ((g->s_w == 1 && g->pl <= 2) || (g->s_w == 2 && g->pl <= 1));
    if (!fast) {
        plane_generic(xc, wc, b, yc, g, ring);
        return;
    }
    const w9 k = {wc[0], wc[1], wc[2], wc[3], wc[4], wc[5], wc[6], wc[7], wc[8]};
    if (g->s_w == 1 && g->s_h == 1 && g->pl == 1 && g->pt == 1 && g->d_h == 1 &&
        g->w_out == g->w_in && g->h_out == g->h_in) {
        switch (g->mode) {
        case 0: plane_same_none(xc, k, b, yc, g->h_in, g->w_in, ring); return;
        case 1: plane_same_relu(xc, k, b, yc, g->h_in, g->w_in, ring); return;
        case 2: plane_same_clip(xc, k, b, yc, g->h_in, g->w_in, g->amin, g->amax, ring); return;
        default:
            plane_same_none(xc, k, b, yc, g->h_in, g->w_in, ring);
            mf_bias_act_f32(yc, g->h_out * g->w_out, 0.0f, g->act);
            return;
        }
    }
    switch (g->mode) {
    case 0: rows3(xc, k, b, yc, g, ring, 0); break;
    case 1: rows3(xc, k, b, yc, g, ring, 1); break;
    case 2: rows3(xc, k, b, yc, g, ring, 2); break;
    default:
        rows3(xc, k, b, yc, g, ring, 0);
        mf_bias_act_f32(yc, g->h_out * g->w_out, 0.0f, g->act);
    }
}

static MF_NO_MEMCPY void dw_copy(float *dst, const float *src, int32_t n)
{
    int32_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const float v0 = src[i], v1 = src[i + 1], v2 = src[i + 2], v3 = src[i + 3];
        dst[i] = v0, dst[i + 1] = v1, dst[i + 2] = v2, dst[i + 3] = v3;
    }
    for (; i < n; ++i) dst[i] = src[i];
}
