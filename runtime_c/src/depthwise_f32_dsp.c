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

/* 3x3 "same" planes (stride 1, pad 1 all round, dilation 1: the MobileNet/DS-CNN case), two
 * output lines at a time. A line is a row (element stride 1) or, in planes taller than wide, a
 * column (element stride w, so short rows do not pay a line set-up each): DS-CNN's 25x5 planes
 * run as five 25-long columns. Output lines i and i + 1 read input lines i - 1 .. i + 2, so
 * four loads feed 18 FMAs (two per output instead of three). Along the line the input values
 * stream through three rotating accumulators per output line, each value finishing output
 * j - 1 (tap 2), continuing j (tap 1) and starting j + 1 (tap 0); unrolled by three the
 * accumulators rotate by name. The kernel row over the top (bottom) padding gets the zero
 * weights of `e` and reads any valid line, so the loop has no border branch. */
typedef struct {
    float t0, t1, t2; /* tap row 0 of output line i: k0..k2, or 0 over the first padding */
    float u6, u7, u8; /* tap row 2 of the last output line: k6..k8, or 0 over the last padding */
} wedge;

#define ACT(v) (mode == 1 ? __builtin_fmaxf((v), 0.0f) : __builtin_fminf(__builtin_fmaxf((v), lo), hi))
/* Output line i (A B C) reads v0 v1 v2, line i + 1 (D E F) v1 v2 v3, line i + 2 (G H I) v2 v3
 * (the last of a plane: its bottom row is over the padding). The last output line's bottom
 * row takes the masked weights of `e`. */
#define TA(acc, c0, c1, c2)                                                                     \
    MF_FMA(nout > 1 ? k.c2 : e.c2##_, v2, MF_FMA(k.c1, v1, MF_FMA(e.c0##_, v0, acc)))
#define TB(acc, c0, c1, c2)                                                                     \
    MF_FMA(nout > 2 ? k.c2 : e.c2##_, v3, MF_FMA(k.c1, v2, MF_FMA(k.c0, v1, acc)))
#define TC(acc, c0, c1, c2) MF_FMA(k.c1, v3, MF_FMA(k.c0, v2, acc))
#define k0_ t0
#define k1_ t1
#define k2_ t2
#define k6_ u6
#define k7_ u7
#define k8_ u8
#define LD                                                                                      \
    if (adj) {                                                                                  \
        if (o0 <= 0) v0 = p1[o0];                                                               \
        else v0 = *p0, p0 += s0;                                                                \
        v1 = p1[0], v2 = p1[1];                                                                 \
        if (nout > 1) v3 = p1[o3];                                                              \
        p1 += es;                                                                               \
    } else {                                                                                    \
        v0 = *p0, v1 = *p1, v2 = *p2, p0 += s0, p1 += es, p2 += es;                             \
        if (nout > 1) v3 = *p3, p3 += es;                                                       \
    }                                                                                           \
    if (save) *save++ = v2
#define PUT(a, d, g)                                                                            \
    if (adj) {                                                                                  \
        y0[0] = ACT(a);                                                                         \
        if (nout > 1) y0[1] = ACT(d);                                                           \
        if (nout > 2) y0[2] = ACT(g);                                                           \
        y0 += es;                                                                               \
    } else {                                                                                    \
        *y0 = ACT(a), y0 += es;                                                                 \
        if (nout > 1) *y1 = ACT(d), y1 += es;                                                   \
        if (nout > 2) *y2 = ACT(g), y2 += es;                                                   \
    }
/* p0 .. p3: input lines i - 1 .. i + 2 (p0 element stride s0, the others es); y0 .. y2: the
 * nout output lines i .. (element stride es); n elements per line (n >= 2). With `save`, line
 * i + 1 is stored there as it is read (in place: the next pair's line i - 1). In place, each
 * output element is written only after the input elements under it were read. adj (columns:
 * lines one element apart): every line is read at a constant offset from p1 (line i - 1 at o0
 * when o0 <= 0, else from p0; the line after at o3) and the outputs written from y0, so one
 * pointer bump per element serves all of them. */
INLINE void lines_same(const float *p0, int32_t s0, const float *p1, const float *p2,
                       const float *p3, int32_t es, float *y0, float *y1, float *y2, int32_t n,
                       w9 k, wedge e, float b, int mode, float lo, float hi, int nout, float *save,
                       int adj, int o0, int o3)
{
    (void)p2, (void)p3, (void)y1, (void)y2;
    float v0, v1, v2, v3 = 0.0f, A, B, C, D = 0.0f, E = 0.0f, F = 0.0f, G = 0.0f, H = 0.0f, I = 0.0f;
    LD;
    A = TA(b, k1, k4, k7), B = TA(b, k0, k3, k6);
    if (nout > 1) D = TB(b, k1, k4, k7), E = TB(b, k0, k3, k6);
    if (nout > 2) G = TC(b, k1, k4, k7), H = TC(b, k0, k3, k6);
    for (int32_t t = (n - 2) / 3; t > 0; --t) { /* elements 1 .. n - 2, three at a time */
        LD;
        A = TA(A, k2, k5, k8), C = TA(b, k0, k3, k6), B = TA(B, k1, k4, k7);
        if (nout > 1) D = TB(D, k2, k5, k8), F = TB(b, k0, k3, k6), E = TB(E, k1, k4, k7);
        if (nout > 2) G = TC(G, k2, k5, k8), I = TC(b, k0, k3, k6), H = TC(H, k1, k4, k7);
        PUT(A, D, G);
        LD;
        B = TA(B, k2, k5, k8), A = TA(b, k0, k3, k6), C = TA(C, k1, k4, k7);
        if (nout > 1) E = TB(E, k2, k5, k8), D = TB(b, k0, k3, k6), F = TB(F, k1, k4, k7);
        if (nout > 2) H = TC(H, k2, k5, k8), G = TC(b, k0, k3, k6), I = TC(I, k1, k4, k7);
        PUT(B, E, H);
        LD;
        C = TA(C, k2, k5, k8), B = TA(b, k0, k3, k6), A = TA(A, k1, k4, k7);
        if (nout > 1) F = TB(F, k2, k5, k8), E = TB(b, k0, k3, k6), D = TB(D, k1, k4, k7);
        if (nout > 2) I = TC(I, k2, k5, k8), H = TC(b, k0, k3, k6), G = TC(G, k1, k4, k7);
        PUT(C, F, I);
    }
    for (int32_t t = (n - 2) % 3; t > 0; --t) {
        LD;
        A = TA(A, k2, k5, k8), C = TA(b, k0, k3, k6);
        if (nout > 1) D = TB(D, k2, k5, k8), F = TB(b, k0, k3, k6);
        if (nout > 2) G = TC(G, k2, k5, k8), I = TC(b, k0, k3, k6);
        PUT(A, D, G);
        A = TA(B, k1, k4, k7), B = C;
        if (nout > 1) D = TB(E, k1, k4, k7), E = F;
        if (nout > 2) G = TC(H, k1, k4, k7), H = I;
    }
    LD;
    A = TA(A, k2, k5, k8), B = TA(B, k1, k4, k7);
    if (nout > 1) D = TB(D, k2, k5, k8), E = TB(E, k1, k4, k7);
    if (nout > 2) G = TC(G, k2, k5, k8), H = TC(H, k1, k4, k7);
    PUT(A, D, G);
    PUT(B, E, H);
}
#undef PUT
#undef LD
#undef TA
#undef TB
#undef TC
#undef k0_
#undef k1_
#undef k2_
#undef k6_
#undef k7_
#undef k8_
#undef ACT

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

/* Stride 2 (3x3, pad left <= 1), output lines in pairs: lines i and i + 1 read input rows
 * 2i - pt .. 2i - pt + 4 (q0 .. q4), the middle one shared, so per two output columns five
 * rows of four new columns (20 loads) feed 36 FMAs; row_s2 needs 12 loads for 18. Two column
 * pairs per iteration so the seven pointer bumps are shared by 72 FMAs. `top`: q0 is over the
 * top padding and its taps are left out (nothing to multiply by zero); nout 1: line i only. */
/* Four floats and the pointer bump in one VLDM on Arm (the loads bound this kernel: five rows
 * of four per 36 FMAs); plain loads elsewhere (the host build of the tests). */
#if defined(__arm__) && defined(__ARM_FP) && defined(__GNUC__) && !defined(__clang__)
/* two sets, alternating by row, so a row's values stay put while the next row loads */
#define S2_VARS                                                                                 \
    register float v1 __asm__("s16"), v2 __asm__("s17"), v3 __asm__("s18"), v4 __asm__("s19"); \
    register float u1 __asm__("s20"), u2 __asm__("s21"), u3 __asm__("s22"), u4 __asm__("s23")
#define S2_LD4(p, x1, x2, x3, x4, regs)                                                         \
    __asm__("vldmia %[q]!, {" regs "}" : "=t"(x1), "=t"(x2), "=t"(x3), "=t"(x4), [q] "+r"(p)   \
            : "m"(*(const float(*)[4])p))
#define S2_V "s16-s19"
#define S2_U "s20-s23"
#else
#define S2_VARS float v1, v2, v3, v4, u1, u2, u3, u4
#define S2_LD4(p, x1, x2, x3, x4, regs) x1 = p[0], x2 = p[1], x3 = p[2], x4 = p[3], p += 4
#define S2_V ""
#define S2_U ""
#endif
#define S2ROW(p, set, x1, x2, x3, x4, c, a0, a1, ka, kb, kc)                                   \
    S2_LD4(p, x1, x2, x3, x4, set);                                                                              \
    a0 = MF_FMA(k.kc, x2, MF_FMA(k.kb, x1, MF_FMA(k.ka, c, a0)));                               \
    a1 = MF_FMA(k.kc, x4, MF_FMA(k.kb, x3, MF_FMA(k.ka, x2, a1)));                              \
    c = x4
#define S2ROW2(p, set, x1, x2, x3, x4, c, a0, a1, ka, kb, kc, b0, b1, kd, ke, kf)              \
    S2_LD4(p, x1, x2, x3, x4, set);                                                                              \
    a0 = MF_FMA(k.kc, x2, MF_FMA(k.kb, x1, MF_FMA(k.ka, c, a0)));                               \
    a1 = MF_FMA(k.kc, x4, MF_FMA(k.kb, x3, MF_FMA(k.ka, x2, a1)));                              \
    if (nout > 1) {                                                                             \
        b0 = MF_FMA(k.kf, x2, MF_FMA(k.ke, x1, MF_FMA(k.kd, c, b0)));                           \
        b1 = MF_FMA(k.kf, x4, MF_FMA(k.ke, x3, MF_FMA(k.kd, x2, b1)));                          \
    }                                                                                           \
    c = x4
#define S2STEP                                                                                  \
    a0 = b, a1 = b, b0 = b, b1 = b;                                                             \
    if (!top) { S2ROW(p0, S2_U, u1, u2, u3, u4, c0, a0, a1, k0, k1, k2); }                      \
    S2ROW(p1, S2_V, v1, v2, v3, v4, c1, a0, a1, k3, k4, k5);                                    \
    S2ROW2(p2, S2_U, u1, u2, u3, u4, c2, a0, a1, k6, k7, k8, b0, b1, k0, k1, k2);               \
    if (nout > 1) {                                                                             \
        S2ROW(p3, S2_V, v1, v2, v3, v4, c3, b0, b1, k3, k4, k5);                                \
        S2ROW(p4, S2_U, u1, u2, u3, u4, c4, b0, b1, k6, k7, k8);                                \
        yb[0] = act(b0, mode, lo, hi), yb[1] = act(b1, mode, lo, hi), yb += 2;                 \
    }                                                                                           \
    ya[0] = act(a0, mode, lo, hi), ya[1] = act(a1, mode, lo, hi), ya += 2

/* One output at column ow of line i from rows r0 .. r2 (r0 NULL: over the padding), for the
 * right edge, where the window runs past the row. */
INLINE float tail_s2(const float *r0, const float *r1, const float *r2, int32_t col, w9 k, float b,
                     int32_t w_in)
{
    float a = b;
    if (r0) a = MF_FMA(k.k2, at(r0, col + 2, w_in), MF_FMA(k.k1, at(r0, col + 1, w_in), MF_FMA(k.k0, at(r0, col, w_in), a)));
    a = MF_FMA(k.k5, at(r1, col + 2, w_in), MF_FMA(k.k4, at(r1, col + 1, w_in), MF_FMA(k.k3, at(r1, col, w_in), a)));
    return MF_FMA(k.k8, at(r2, col + 2, w_in), MF_FMA(k.k7, at(r2, col + 1, w_in), MF_FMA(k.k6, at(r2, col, w_in), a)));
}

/* The pair loop in inline assembly on Arm with GCC (under GCC 12 the C loop above spills and
 * moves accumulators; each output still paid a bias move, a carried-column move, its ReLU and
 * a store): four columns of both lines per iteration, so one VLDM brings eight columns of a
 * row for 24 FMAs and the five carried-column moves, the two VSTMs and the loop branch are
 * shared by 72 FMAs. Registers: accumulators s0-s3 (line i) and s4-s7 (line i + 1), the row's
 * columns s8-s15, weights k0..k8 in s16-s24, the carried columns of rows q0..q4 in s25-s29,
 * the clamp bounds in s30/s31; the bias comes from a core register (VMOV). The variant (top,
 * activation) is chosen outside the loop by the caller, one asm string each. */
#if defined(__arm__) && defined(__ARM_FP) && defined(__GNUC__) && !defined(__clang__) &&       \
    __ARM_ARCH_PROFILE == 'M'
#define S2A_PAIR 1
/* VMAXNM/VMINNM are FPv5 (M7, M33, M55, ...); the M4's FPv4 has neither and no predefined
 * macro tells the two FPUs apart, so ask the core: SCB CPUID's part number, 0xC24 on the M4. */
INLINE int has_vmaxnm(void) { return ((*(volatile const uint32_t *)0xE000ED00u >> 4) & 0xFFFu) != 0xC24u; }
#define S2A_F(acc, k, x) "vfma.f32 " acc ", " k ", " x "\n\t"
/* accumulators a0..a3 += row (carry c, then s8..s15) times taps ka kb kc */
#define S2A_ROW(a0, a1, a2, a3, ka, kb, kc, c)                                                  \
    S2A_F(a0, ka, c) S2A_F(a0, kb, "s8") S2A_F(a0, kc, "s9")                                   \
    S2A_F(a1, ka, "s9") S2A_F(a1, kb, "s10") S2A_F(a1, kc, "s11")                              \
    S2A_F(a2, ka, "s11") S2A_F(a2, kb, "s12") S2A_F(a2, kc, "s13")                             \
    S2A_F(a3, ka, "s13") S2A_F(a3, kb, "s14") S2A_F(a3, kc, "s15")
#define S2A_A(ka, kb, kc, c) S2A_ROW("s0", "s1", "s2", "s3", ka, kb, kc, c)
#define S2A_B(ka, kb, kc, c) S2A_ROW("s4", "s5", "s6", "s7", ka, kb, kc, c)
#define S2A_LD(p) "vldmia %[" p "]!, {s8-s15}\n\t"
#define S2A_ROW0 S2A_LD("p0") S2A_A("s16", "s17", "s18", "s25") "vmov.f32 s25, s15\n\t"
#define S2A_BODY                                                                                \
    S2A_LD("p1") S2A_A("s19", "s20", "s21", "s26") "vmov.f32 s26, s15\n\t"                      \
    S2A_LD("p2") S2A_A("s22", "s23", "s24", "s27") S2A_B("s16", "s17", "s18", "s27")            \
    "vmov.f32 s27, s15\n\t"                                                                     \
    S2A_LD("p3") S2A_B("s19", "s20", "s21", "s28") "vmov.f32 s28, s15\n\t"                      \
    S2A_LD("p4") S2A_B("s22", "s23", "s24", "s29") "vmov.f32 s29, s15\n\t"
#define S2A_BIAS                                                                                \
    "vmov s0, %[b]\n\tvmov s1, %[b]\n\tvmov s2, %[b]\n\tvmov s3, %[b]\n\t"                      \
    "vmov s4, %[b]\n\tvmov s5, %[b]\n\tvmov s6, %[b]\n\tvmov s7, %[b]\n\t"
#define S2A_8(op, bound)                                                                        \
    op " s0, s0, " bound "\n\t" op " s1, s1, " bound "\n\t" op " s2, s2, " bound "\n\t"          \
    op " s3, s3, " bound "\n\t" op " s4, s4, " bound "\n\t" op " s5, s5, " bound "\n\t"          \
    op " s6, s6, " bound "\n\t" op " s7, s7, " bound "\n\t"
#define S2A_MAX S2A_8("vmaxnm.f32", "s30")
#define S2A_MIN S2A_8("vminnm.f32", "s31")
#define S2A_TAIL "vstmia %[ya]!, {s0-s3}\n\tvstmia %[yb]!, {s4-s7}\n\tsubs %[n], %[n], #1\n\tbne 1b\n\t"
#define S2A_RUN(body)                                                                           \
    __asm__ volatile("vldmia %[kc], {s16-s31}\n\t"                                              \
                     "1:\n\t" S2A_BIAS body S2A_TAIL                                             \
                     : [p0] "+r"(p0), [p1] "+r"(p1), [p2] "+r"(p2), [p3] "+r"(p3), [p4] "+r"(p4), \
                       [ya] "+r"(ya), [yb] "+r"(yb), [n] "+r"(steps)                             \
                     : [kc] "r"(kc), [b] "r"(b)                                                  \
                     : "cc", "memory", "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", \
                       "s10", "s11", "s12", "s13", "s14", "s15", "s16", "s17", "s18", "s19",     \
                       "s20", "s21", "s22", "s23", "s24", "s25", "s26", "s27", "s28", "s29",     \
                       "s30", "s31")

/* `steps` (> 0) iterations of four columns of output lines i and i + 1; kc: k0..k8, the five
 * carried columns, the clamp bounds (ReLU: 0). Advances the row and output pointers. */
INLINE void pair4_s2(const float **pp0, const float **pp1, const float **pp2, const float **pp3,
                     const float **pp4, float **pya, float **pyb, int32_t steps, const float *kc,
                     float b, int mode, int top)
{
    const float *p0 = *pp0, *p1 = *pp1, *p2 = *pp2, *p3 = *pp3, *p4 = *pp4;
    float *ya = *pya, *yb = *pyb;
    if (top) {
        if (mode == 1) S2A_RUN(S2A_BODY S2A_MAX);
        else if (mode == 2) S2A_RUN(S2A_BODY S2A_MAX S2A_MIN);
        else S2A_RUN(S2A_BODY);
    } else {
        if (mode == 1) S2A_RUN(S2A_ROW0 S2A_BODY S2A_MAX);
        else if (mode == 2) S2A_RUN(S2A_ROW0 S2A_BODY S2A_MAX S2A_MIN);
        else S2A_RUN(S2A_ROW0 S2A_BODY);
    }
    *pp0 = p0, *pp1 = p1, *pp2 = p2, *pp3 = p3, *pp4 = p4, *pya = ya, *pyb = yb;
}

/* The first 4 steps columns of output line pairs [0, npairs) of a plane (pair 0 over the top
 * padding when pt is 1). Out of line: inlined, the asm's clobbers made GCC spill and reload
 * the C loops' registers around every pair. With pl 0 the carried columns are column 0. */
static __attribute__((noinline)) void pairs4_s2(const float *xc, float *yc, float *kc, float b,
                                                int32_t w_in, int32_t w_out, int32_t pt,
                                                int32_t pl, int32_t npairs, int32_t steps, int mode)
{
    for (int32_t i = 0; i < npairs; ++i) {
        const int top = i == 0 && pt == 1;
        const float *p1 = xc + (4 * i - pt + 1) * w_in + 1 - pl, *p0 = top ? p1 : p1 - w_in;
        const float *p2 = p1 + w_in, *p3 = p2 + w_in, *p4 = p3 + w_in;
        float *ya = yc + 2 * i * w_out, *yb = ya + w_out;
        if (!pl) kc[9] = p0[-1], kc[10] = p1[-1], kc[11] = p2[-1], kc[12] = p3[-1], kc[13] = p4[-1];
        pair4_s2(&p0, &p1, &p2, &p3, &p4, &ya, &yb, steps, kc, b, mode, top);
    }
}
#else
#define S2A_PAIR 0
#endif

INLINE void lines_s2(const float *q0, const float *q1, const float *q2, const float *q3,
                     const float *q4, float *ya, float *yb, w9 k, float b, const mf_dw_geom *g,
                     int32_t main, int mode, int nout, int top, int32_t ow0)
{
    const int32_t pl = g->pl, w_in = g->w_in, n = g->w_out;
    const float lo = g->amin, hi = g->amax;
    /* from output ow0 on; the column left of its window: the left padding (col -1) or col */
    const int32_t col = 2 * ow0 - pl, pad = col < 0;
    float c0 = top || pad ? 0.0f : q0[col], c1 = pad ? 0.0f : q1[col], c2 = pad ? 0.0f : q2[col];
    float c3 = nout < 2 || pad ? 0.0f : q3[col], c4 = nout < 2 || pad ? 0.0f : q4[col];
    const float *p0 = top ? q1 : q0 + col + 1, *p1 = q1 + col + 1, *p2 = q2 + col + 1;
    const float *p3 = nout > 1 ? q3 + col + 1 : p2, *p4 = nout > 1 ? q4 + col + 1 : p2;
    ya += ow0, yb += nout > 1 ? ow0 : 0;
    float a0, a1, b0, b1;
    S2_VARS;
    int32_t ow = ow0;
    for (; ow + 2 <= main; ow += 2) {
        S2STEP;
    }
    (void)p0, (void)p3, (void)p4, (void)c0, (void)c2, (void)c3, (void)c4, (void)a1, (void)b1;
    for (; ow < n; ++ow) { /* the last window(s), reaching past the row's end */
        const int32_t col = 2 * ow - pl;
        *ya++ = act(tail_s2(top ? NULL : q0, q1, q2, col, k, b, w_in), mode, lo, hi);
        if (nout > 1) *yb++ = act(tail_s2(q2, q3, q4, col, k, b, w_in), mode, lo, hi);
    }
}
#undef S2ROW
#undef S2ROW2
#undef S2STEP
#undef S2_LD4
#undef S2_V
#undef S2_U
#undef S2_VARS

/* A stride-2 3x3 plane (dilation 1, pads <= 1 on the top and left): output rows whose window
 * lies inside the input go in pairs (the first one may start on the top padding), any rest
 * (an odd last row, rows reading the bottom padding) one at a time through row_s2. */
INLINE void plane_s2(const float *xc, w9 k, float b, float *yc, const mf_dw_geom *g, int mode)
{
    const int32_t w_in = g->w_in, w_out = g->w_out, h_out = g->h_out, pt = g->pt;
    int32_t main = w_in - 3 + g->pl >= 0 ? (w_in - 3 + g->pl) / 2 + 1 : 0; /* windows inside a row */
    if (main > w_out) main = w_out;
    int32_t bot = g->h_in - 3 + pt; /* output rows [0, bot) read no row past the input */
    bot = bot >= 0 ? bot / 2 + 1 : 0;
    if (bot > h_out) bot = h_out;
    /* the pair loop's weights, carried columns (zero: the left padding) and clamp bounds */
    float kc[16] __attribute__((aligned(8))) = {k.k0, k.k1, k.k2, k.k3, k.k4, k.k5, k.k6, k.k7, k.k8,
                                                0.0f, 0.0f, 0.0f, 0.0f, 0.0f,
                                                mode == 1 ? 0.0f : g->amin, g->amax};
    int32_t oh = 0, ow0 = 0; /* pairs start at output column ow0 (the asm did the ones before) */
#if S2A_PAIR
    if (main >= 4 && bot >= 2 && (mode == 0 || has_vmaxnm())) { /* M4 + activation: the C loop */
        pairs4_s2(xc, yc, kc, b, w_in, w_out, pt, g->pl, bot / 2, main / 4, mode);
        ow0 = main & ~3;
    }
#else
    (void)kc;
#endif
    if (ow0 == w_out) oh = bot & ~1; /* the asm did whole pairs */
    for (; oh + 2 <= bot; oh += 2) {
        const float *q1 = xc + (2 * oh - pt + 1) * w_in;
        float *ya = yc + oh * w_out;
        if (oh == 0 && pt == 1) lines_s2(NULL, q1, q1 + w_in, q1 + 2 * w_in, q1 + 3 * w_in, ya, ya + w_out, k, b, g, main, mode, 2, 1, ow0);
        else lines_s2(q1 - w_in, q1, q1 + w_in, q1 + 2 * w_in, q1 + 3 * w_in, ya, ya + w_out, k, b, g, main, mode, 2, 0, ow0);
    }
    for (; oh < h_out; ++oh) {
        const float *rows[3];
        float *yr = yc + oh * w_out;
        if (dw_rows(xc, g, NULL, oh, rows) == 3) {
            lines_s2(rows[0], rows[1], rows[2], NULL, NULL, yr, NULL, k, b, g, main, mode, 1, 0, 0);
            continue;
        }
        w9 km = k;
        if (!mask_rows(rows, &km)) {
            for (int32_t ow = 0; ow < w_out; ++ow) yr[ow] = act(b, mode, g->amin, g->amax);
            continue;
        }
        row_s2(rows[0], rows[1], rows[2], yr, km, b, g, mode);
    }
}

INLINE void row3(const float *const *rows, float *yr, w9 k, float b, const mf_dw_geom *g, int mode)
{
    if (g->s_w == 1)
        row_s1(rows[0], rows[1], rows[2], yr, k, b, g, mode);
    else
        row_s2(rows[0], rows[1], rows[2], yr, k, b, g, mode);
}

/* A "same" plane as L lines of n elements (line l at x + l ls, element j at + j es), output
 * lines in pairs then the odd last one; the weights are in line/element order (transposed for
 * columns). In place (ring != NULL, y == x) each pair saves its second input line to the ring
 * as it reads it, where the next pair finds its line i - 1 after the pair overwrote it. */
INLINE void plane_lines(const float *x, w9 k, float b, float *y, int32_t L, int32_t n,
                        int32_t ls, int32_t es, int mode, float lo, float hi, float *ring, int col)
{
    const wedge in = {k.k0, k.k1, k.k2, k.k6, k.k7, k.k8};
    int32_t i = 0;
    for (; i + 2 <= L && i + 3 != L; i += 2) { /* pairs, leaving three lines when L is odd */
        wedge e = in;
        const int first = i == 0, last = i + 2 == L;
        if (first) e.t0 = e.t1 = e.t2 = 0.0f;
        if (last) e.u6 = e.u7 = e.u8 = 0.0f;
        const float *p1 = x + i * ls, *p2 = p1 + ls;
        float *y0 = y + i * ls;
#define PAIR(p0, s0, p3, save) lines_same(p0, s0, p1, p2, p3, es, y0, y0 + ls, NULL, n, k, e, b, mode, lo, hi, 2, save, 0, 0, 0)
#define CPAIR(o0, p0, s0, o3, save) lines_same(p0, s0, p1, NULL, NULL, es, y0, NULL, NULL, n, k, e, b, mode, lo, hi, 2, save, 1, o0, o3)
        if (col) { /* lines one element apart: every dummy line a constant offset, so the
                    * compiler addresses all four lines (and both outputs) from one pointer */
            if (!ring && !first && !last) CPAIR(-1, NULL, 0, 2, NULL);
            else if (!ring && first && !last) CPAIR(0, NULL, 0, 2, NULL);
            else if (!ring) CPAIR(-1, NULL, 0, 1, NULL); /* L >= 3: not first and last */
            else if (!first && !last) CPAIR(1, ring, 1, 2, ring);
            else if (!first) CPAIR(1, ring, 1, 1, ring);
            else CPAIR(0, NULL, 0, 2, ring);
        } else {
            const float *p3 = last ? p2 : p2 + ls;
            if (!ring) PAIR(first ? p1 : p1 - ls, es, p3, NULL);
            else if (!first) PAIR(ring, 1, p3, ring);
            else PAIR(p1, es, p3, ring);
        }
#undef PAIR
#undef CPAIR
    }
    if (i < L) { /* L odd: the last three lines (i = L - 3 >= 0) in one pass, no line after */
        wedge e = in;
        if (i == 0) e.t0 = e.t1 = e.t2 = 0.0f;
        const float *p1 = x + i * ls, *p2 = p1 + ls, *p3 = p2 + ls;
        float *y0 = y + i * ls;
#define TRIPLE(p0, s0, adj, o0) lines_same(p0, s0, p1, p2, p3, es, y0, y0 + ls, y0 + 2 * ls, n, k, e, b, mode, lo, hi, 3, NULL, adj, o0, 2)
        if (ring && i) TRIPLE(ring, 1, col, 1);
        else if (!col) TRIPLE(i ? p1 - ls : p1, es, 0, 0);
        else if (i) TRIPLE(NULL, 0, 1, -1);
        else TRIPLE(NULL, 0, 1, 0);
#undef TRIPLE
    }
}

/* Rows (element stride 1, immediate offsets) when the plane is at least as wide as tall, else
 * columns; one function per epilogue so the weights stay in registers across lines. */
INLINE void plane_same(const float *xc, const float *wc, float b, float *yc, int32_t h, int32_t w,
                       int mode, float lo, float hi, float *ring)
{
    if (w >= h) {
        const w9 k = {wc[0], wc[1], wc[2], wc[3], wc[4], wc[5], wc[6], wc[7], wc[8]};
        plane_lines(xc, k, b, yc, h, w, w, 1, mode, lo, hi, ring, 0);
    } else {
        const w9 k = {wc[0], wc[3], wc[6], wc[1], wc[4], wc[7], wc[2], wc[5], wc[8]};
        plane_lines(xc, k, b, yc, w, h, 1, w, mode, lo, hi, ring, 1);
    }
}

static void plane_same_relu(const float *xc, const float *wc, float b, float *yc, int32_t h,
                            int32_t w, float *ring)
{
    plane_same(xc, wc, b, yc, h, w, 1, 0.0f, 0.0f, ring);
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
    if (g->s_w == 1 && g->s_h == 1 && g->pl == 1 && g->pt == 1 && g->d_h == 1 &&
        g->w_out == g->w_in && g->h_out == g->h_in && g->h_in >= 2 && g->mode == 1) {
        /* ReLU only: one more specialised copy (Clip) doubled the code and the compile time */
        plane_same_relu(xc, wc, b, yc, g->h_in, g->w_in, ring);
        return;
    }
    const w9 k = {wc[0], wc[1], wc[2], wc[3], wc[4], wc[5], wc[6], wc[7], wc[8]};
    if (g->s_h == 2 && g->s_w == 2 && g->d_h == 1 && g->pt <= 1 && !ring) {
        switch (g->mode) {
        case 0: plane_s2(xc, k, b, yc, g, 0); break;
        case 1: plane_s2(xc, k, b, yc, g, 1); break;
        case 2: plane_s2(xc, k, b, yc, g, 2); break;
        default:
            plane_s2(xc, k, b, yc, g, 0);
            mf_bias_act_f32(yc, g->h_out * g->w_out, 0.0f, g->act);
        }
        return;
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
