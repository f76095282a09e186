/* int8 convolution for Cortex-M4/M7 with the DSP extension: im2col into an int16 panel of
 * mf_s8_cols_dsp(k) output pixels (the layout mf_gemm_s8_dsp's SMLAD tile reads, see
 * gemm_s8_dsp.c), then one GEMM per panel over the group's output channels. Pointwise and
 * depthwise run the same way: a pointwise panel is a transpose of x, a depthwise one has
 * k_h * k_w rows per channel. Padding reads in_zp (mf_int8.h). */
#include "mf_int8_simd.h"

static int32_t panel_bytes(const mf_conv2d_s8_desc *d)
{
    const int32_t k = d->c_in / d->groups * d->k_h * d->k_w;
    return mf_s8_cols_dsp(k) * mf_s8_k4(k) * (int32_t)sizeof(int16_t);
}

/* depthwise: one padded channel plane (+ 4 bytes: a word load at a window's last tap) and
 * the int32 sums of a plane (h_out x wp);
 * else the panel, then one pixel's column in int8 (k + 1 bytes, rounded up to 4), then the row offsets of a window */
int32_t mf_conv2d_s8_dsp_scratch_bytes(const mf_conv2d_s8_desc *d)
{
    if (mf_s8_conv_is_depthwise(d))
        return ((mf_s8_dw_hp(d) * mf_s8_dw_wp(d) + 4 + 3) & ~3) +
               d->h_out * mf_s8_dw_wp(d) * (int32_t)sizeof(int32_t);
    const int32_t k = d->c_in / d->groups * d->k_h * d->k_w;
    return panel_bytes(d) + mf_s8_k4(k + 1) + d->c_in / d->groups * d->k_h * (int32_t)sizeof(int32_t);
}

#if defined(__ARM_FEATURE_DSP)
#include <arm_acle.h>
#include <string.h>

static inline uint32_t ld32(const int8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4); /* unaligned LDR: fine on v7E-M */
    return v;
}

static inline uint32_t sxtb16_ror8(uint32_t v)
{
    uint32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return r;
}

/* One output row of a 3x3 depthwise window (dil_w 1) into int32 sums; wk holds per kernel
 * row the packed (w0, w2) and w1. */
static __attribute__((noinline)) void dw3_row(const int8_t *px, int32_t r1, int32_t sw,
                                              int32_t w_out, int32_t b, const int32_t wk[6],
                                              int32_t *acc)
{
    const uint32_t w02a = (uint32_t)wk[0], w02b = (uint32_t)wk[2], w02c = (uint32_t)wk[4];
    const int32_t w1a = wk[1], w1b = wk[3], w1c = wk[5], r2 = 2 * r1;
    int32_t ow = 0;
    if (sw == 1)
        for (; ow + 2 <= w_out; ow += 2, px += 2, acc += 2) {
            int32_t a0 = b, a1 = b;
            uint32_t v = ld32(px), e = __sxtb16(v), o = sxtb16_ror8(v);
            a0 = __smlabb((int32_t)o, w1a, (int32_t)__smlad(e, w02a, (uint32_t)a0));
            a1 = __smlatb((int32_t)e, w1a, (int32_t)__smlad(o, w02a, (uint32_t)a1));
            v = ld32(px + r1), e = __sxtb16(v), o = sxtb16_ror8(v);
            a0 = __smlabb((int32_t)o, w1b, (int32_t)__smlad(e, w02b, (uint32_t)a0));
            a1 = __smlatb((int32_t)e, w1b, (int32_t)__smlad(o, w02b, (uint32_t)a1));
            v = ld32(px + r2), e = __sxtb16(v), o = sxtb16_ror8(v);
            a0 = __smlabb((int32_t)o, w1c, (int32_t)__smlad(e, w02c, (uint32_t)a0));
            a1 = __smlatb((int32_t)e, w1c, (int32_t)__smlad(o, w02c, (uint32_t)a1));
            acc[0] = a0;
            acc[1] = a1;
        }
    for (; ow < w_out; ++ow, px += sw) {
        int32_t a0 = b;
        uint32_t v = ld32(px);
        a0 = __smlabb((int32_t)sxtb16_ror8(v), w1a, (int32_t)__smlad(__sxtb16(v), w02a, (uint32_t)a0));
        v = ld32(px + r1);
        a0 = __smlabb((int32_t)sxtb16_ror8(v), w1b, (int32_t)__smlad(__sxtb16(v), w02b, (uint32_t)a0));
        v = ld32(px + r2);
        a0 = __smlabb((int32_t)sxtb16_ror8(v), w1c, (int32_t)__smlad(__sxtb16(v), w02c, (uint32_t)a0));
        *acc++ = a0;
    }
}

/* mf_s8_rq_rows for the depthwise sums, in the usual case (rs > 32 and a small shift): one
 * SMMLA takes the product's high word plus the rounding term with the zero point folded in
 * (exact: zp << sh added before the shift is zp after it), then ASR and SSAT, or the
 * ReLU/Clip clamp; 6-9 instructions per output instead of 17. Other shifts: mf_s8_rq_rows. */
static __attribute__((noinline)) void rq_plane(const int32_t *acc, int32_t rows, int32_t n,
                                               int32_t as, int8_t *y, int32_t ys, int32_t cs,
                                               const mf_s8_rq_ch *q)
{
    const int32_t sh = q->rs - 32;
    if (q->rs <= 32 || sh > 20) {
        mf_s8_rq_rows(acc, rows, n, as, y, ys, cs, q);
        return;
    }
    const int32_t mult = q->mult, hz = (1 << (sh - 1)) + q->zp * (1 << sh), lo = q->lo, hi = q->hi;
    for (int32_t r = 0; r < rows; ++r, acc += as, y += ys) {
        const int32_t *a = acc;
        int8_t *yy = y;
        if (lo == -128 && hi == 127) {
            for (int32_t i = 0; i < n; ++i, yy += cs) {
                int32_t v;
                __asm__("smmla %0, %1, %2, %3" : "=r"(v) : "r"(a[i]), "r"(mult), "r"(hz));
                *yy = (int8_t)__ssat(v >> sh, 8);
            }
        } else {
            for (int32_t i = 0; i < n; ++i, yy += cs) {
                int32_t v;
                __asm__("smmla %0, %1, %2, %3" : "=r"(v) : "r"(a[i]), "r"(mult), "r"(hz));
                v >>= sh;
                *yy = (int8_t)(v < lo ? lo : (v > hi ? hi : v));
            }
        }
    }
}

/* mf_s8_pad_copy for rows of 4 bytes or more: words only, the last one overlapping the one
 * before (no byte loop), ~8 instructions a row of 5 where the byte tail cost ~27. */
static void pad_copy_words(const int8_t *xc, const mf_conv2d_s8_desc *d, int32_t hp, int32_t wp,
                           int8_t *plane)
{
    const int32_t c_lo = d->pad_left < wp ? d->pad_left : wp;
    const int32_t c_hi = d->pad_left + d->w_in < wp ? d->pad_left + d->w_in : wp;
    const int32_t r_lo = d->pad_top < hp ? d->pad_top : hp;
    const int32_t r_hi = d->pad_top + d->h_in < hp ? d->pad_top + d->h_in : hp;
    const int32_t n = c_hi - c_lo;
    if (n < 4) {
        mf_s8_pad_copy(xc, d, hp, wp, plane);
        return;
    }
    const int8_t *src = xc + (r_lo - d->pad_top) * d->w_in + (c_lo - d->pad_left);
    int8_t *dst = plane + r_lo * wp + c_lo;
    for (int32_t r = r_lo; r < r_hi; ++r, src += d->w_in, dst += wp) {
        for (int32_t i = 0; i + 4 < n; i += 4) memcpy(dst + i, src + i, 4);
        memcpy(dst + n - 4, src + n - 4, 4);
    }
}

/* Depthwise, one channel at a time from its padded copy. A three-tap row (dil_w 1) is one
 * unaligned LDR (x0, x1, x2, x3): SXTB16 gives (x0, x2) for SMLAD with the packed weights
 * (w0, w2) and, rotated, (x1, x3), whose bottom half SMLABB takes with w1. With stride 1
 * the same word also serves the next output (SMLAD (x1, x3) . (w0, w2) and SMLATB x2 * w1):
 * 7 instructions for 6 MACs. Other shapes take the plain loop. */
static void depthwise(const int8_t *x, const int8_t *w, const int32_t *bias, int8_t *y,
                      const mf_conv2d_s8_desc *d, int8_t *plane)
{
    const int32_t hp = mf_s8_dw_hp(d), wp = mf_s8_dw_wp(d), hw_in = d->h_in * d->w_in;
    int32_t *sums = (int32_t *)(void *)(plane + ((hp * wp + 4 + 3) & ~3));
    const int32_t taps = d->k_h * d->k_w, sh = d->stride_h, sw = d->stride_w;
    const int fast = d->k_h == 3 && d->k_w == 3 && d->dil_w == 1;
    const int32_t r1 = d->dil_h * wp;
    mf_s8_pad_init(d, hp, wp, plane);
    for (int32_t n = 0; n < d->n; ++n)
        for (int32_t c = 0; c < d->c_out; ++c) {
            pad_copy_words(x + (n * d->c_in + c) * hw_in, d, hp, wp, plane);
            const int8_t *wc = w + c * taps;
            const int32_t b = bias ? bias[c] : 0;
            const mf_s8_rq_ch q = mf_s8_rq_prepare(&d->rq, c);
            int8_t *yc = y + (n * d->c_out + c) * d->h_out * d->w_out;
            if (!fast) {
                for (int32_t oh = 0; oh < d->h_out; ++oh)
                    for (int32_t ow = 0; ow < d->w_out; ++ow) {
                        const int8_t *px = plane + oh * sh * wp + ow * sw;
                        int32_t acc = b;
                        for (int32_t kh = 0; kh < d->k_h; ++kh)
                            for (int32_t kw = 0; kw < d->k_w; ++kw)
                                acc += px[kh * r1 + kw * d->dil_w] * wc[kh * d->k_w + kw];
                        *yc++ = mf_s8_rq_apply(acc, &q);
                    }
                continue;
            }
            const int32_t wk[6] = {
                (int32_t)((uint16_t)wc[0] | (uint32_t)(uint16_t)wc[2] << 16), wc[1],
                (int32_t)((uint16_t)wc[3] | (uint32_t)(uint16_t)wc[5] << 16), wc[4],
                (int32_t)((uint16_t)wc[6] | (uint32_t)(uint16_t)wc[8] << 16), wc[7]};
            /* sums first, requantisation after: together they do not fit the registers */
            if (sh == 1 && sw == 1) {
                /* the plane as one long row: wp - w_out sums per row are thrown away, but
                 * there is one call per channel instead of one per output row */
                dw3_row(plane, r1, 1, (d->h_out - 1) * wp + d->w_out, b, wk, sums);
                rq_plane(sums, d->h_out, d->w_out, wp, yc, d->w_out, 1, &q);
                continue;
            }
            for (int32_t oh = 0; oh < d->h_out; ++oh, yc += d->w_out) {
                dw3_row(plane + oh * sh * wp, r1, sw, d->w_out, b, wk, sums);
                rq_plane(sums, 1, d->w_out, 0, yc, 0, 1, &q);
            }
        }
}

/* One pixel's im2col column, gathered in natural k order into col (int8): rows[r] is the
 * offset of window row r = (ci, kh) from the window's top-left input element. wide: the
 * window's last row may be read one byte past its end (it is not the last byte of x), so
 * three-tap rows move as one unaligned word; col has room for the extra byte. */
static void gather(const int8_t *xw, const int32_t *rows, int32_t nrows, int32_t k_w,
                   int32_t dil_w, int wide, int8_t *col)
{
    if (k_w == 3 && dil_w == 1 && wide) {
        for (int32_t r = 0; r < nrows; ++r, col += 3) {
            uint32_t v;
            memcpy(&v, xw + rows[r], 4);
            memcpy(col, &v, 4);
        }
    } else if (k_w == 1) {
        for (int32_t r = 0; r < nrows; ++r) col[r] = xw[rows[r]];
    } else {
        for (int32_t r = 0; r < nrows; ++r, col += k_w)
            for (int32_t kw = 0; kw < k_w; ++kw) col[kw] = xw[rows[r] + kw * dil_w];
    }
}

/* The same where the window hangs over the padding: in_zp there. The valid kw range and
 * the valid kh rows are found once per pixel. */
static void gather_edge(const int8_t *xg, const mf_conv2d_s8_desc *d, int32_t cig, int32_t ih0,
                        int32_t iw0, int8_t *col)
{
    const int32_t hw = d->h_in * d->w_in, zp = d->in_zp, dw = d->dil_w;
    int32_t lo = 0, hi = d->k_w;
    while (lo < hi && iw0 + lo * dw < 0) ++lo;
    while (hi > lo && iw0 + (hi - 1) * dw >= d->w_in) --hi;
    for (int32_t ci = 0; ci < cig; ++ci)
        for (int32_t kh = 0; kh < d->k_h; ++kh) {
            const int32_t ih = ih0 + kh * d->dil_h;
            if (ih < 0 || ih >= d->h_in) {
                for (int32_t kw = 0; kw < d->k_w; ++kw) *col++ = (int8_t)zp;
                continue;
            }
            const int8_t *xr = xg + ci * hw + ih * d->w_in + iw0;
            int32_t kw = 0;
            for (; kw < lo; ++kw) *col++ = (int8_t)zp;
            for (; kw < hi; ++kw) *col++ = xr[kw * dw];
            for (; kw < d->k_w; ++kw) *col++ = (int8_t)zp;
        }
}

/* The edge pixels of the common 3-tap case (dil_w 1, at most one column of padding on a
 * side, w_in >= 4): each window row is still one word, with a padding row read as in_zp
 * and a padded column shifted or masked in. */
static int gather3_edge(const int8_t *xg, const mf_conv2d_s8_desc *d, int32_t cig, int32_t hw,
                        int32_t ih0, int32_t iw0, const int8_t *x_last, int8_t *col)
{
    const uint32_t zb = (uint8_t)d->in_zp, z4 = zb * 0x01010101u;
    const int left = iw0 == -1, right = iw0 + 2 == d->w_in;
    if (d->k_w != 3 || d->dil_w != 1 || d->w_in < 4 || iw0 < -1 || iw0 + 2 > d->w_in)
        return 0;
    for (int32_t ci = 0; ci < cig; ++ci)
        for (int32_t kh = 0; kh < d->k_h; ++kh, col += 3) {
            const int32_t ih = ih0 + kh * d->dil_h;
            uint32_t v = z4;
            if (ih >= 0 && ih < d->h_in) {
                const int8_t *s = xg + ci * hw + ih * d->w_in + iw0;
                if (left) {
                    v = ld32(s + 1) << 8 | zb; /* x[0..2] stay inside the row: w_in >= 4 */
                } else if (right) {
                    v = (uint32_t)(uint8_t)s[0] | (uint32_t)(uint8_t)s[1] << 8 | zb << 16;
                } else if (s + 3 <= x_last) {
                    v = ld32(s);
                } else {
                    v = (uint32_t)(uint8_t)s[0] | (uint32_t)(uint8_t)s[1] << 8 |
                        (uint32_t)(uint8_t)s[2] << 16;
                }
            }
            memcpy(col, &v, 4);
        }
    return 1;
}

/* Widens a gathered column into the SMLAD pair layout, four k per LDR + 2 SXTB16 + STRD;
 * step: words from one group of four to the next (the block's column count * 2). */
#define WIDEN(STEP) \
    for (int32_t g = 0; g < k4; g += 4, c += 4, gp += (STEP)) { \
        uint32_t v; \
        memcpy(&v, c, 4); \
        const uint64_t pr = (uint64_t)sxtb16_ror8(v) << 32 | (uint32_t)__sxtb16(v); \
        memcpy(gp, &pr, 8); /* one STRD */ \
    }

/* One group of four k widened into the SMLAD pair layout at gp: (b0, b2), (b1, b3), STRD. */
static inline void widen_group(uint32_t g, uint32_t *gp)
{
    const uint64_t pr = (uint64_t)sxtb16_ror8(g) << 32 | (uint32_t)__sxtb16(g);
    memcpy(gp, &pr, 8);
}

/* An interior pixel's column straight into its panel column (every column in a block of
 * six: a group of four k steps 12 words), for 3-tap window rows (dil_w 1) read as one
 * unaligned word each, byte 3 ignored. Four rows make three groups of four:
 * [r0 r0 r0 r1] [r1 r1 r2 r2] [r2 r3 r3 r3], one BFI each (with a shift for the last two),
 * then the widening: about 2 instructions per k instead of 3.4 through the int8 column.
 * Leftover rows (nrows % 4) take the same formulas with the missing rows zero, which
 * zero-pads the last group as k4 needs. wide: the last row's word may be read whole. */
static void column3(const int8_t *xw, const int32_t *rows, int32_t nrows, uint32_t *gp)
{
    const int32_t r = nrows & ~3;
    if (r) {
        /* 22 instructions per four rows; GCC 12 takes 34 (no LDM, no BFI, no STRD) */
        const int32_t *re = rows + r;
        __asm__ volatile(
            "1:\n\t"
            "ldm    %[rp]!, {r8, r9, r10, r11}\n\t"
            "ldr    r8, [%[xw], r8]\n\t"
            "ldr    r9, [%[xw], r9]\n\t"
            "ldr    r10, [%[xw], r10]\n\t"
            "ldr    r11, [%[xw], r11]\n\t"
            "bfi    r8, r9, #24, #8\n\t"
            "lsr    r9, r9, #8\n\t"
            "bfi    r9, r10, #16, #16\n\t"
            "lsr    r10, r10, #16\n\t"
            "bfi    r10, r11, #8, #24\n\t"
            "sxtb16 r11, r8, ror #8\n\t"
            "sxtb16 r8, r8\n\t"
            "strd   r8, r11, [%[gp]]\n\t"
            "sxtb16 r11, r9, ror #8\n\t"
            "sxtb16 r9, r9\n\t"
            "strd   r9, r11, [%[gp], #48]\n\t"
            "sxtb16 r11, r10, ror #8\n\t"
            "sxtb16 r10, r10\n\t"
            "strd   r10, r11, [%[gp], #96]\n\t"
            "add    %[gp], %[gp], #144\n\t"
            "cmp    %[rp], %[re]\n\t"
            "bne    1b\n\t"
            : [rp] "+r"(rows), [gp] "+r"(gp)
            : [xw] "r"(xw), [re] "r"(re)
            : "r8", "r9", "r10", "r11", "cc", "memory");
        rows -= r; /* back to the first row: the leftover rows index from it */
    }
    if (r < nrows) {
        const int32_t rem = nrows - r;
        const uint32_t v0 = ld32(xw + rows[r]), v1 = rem > 1 ? ld32(xw + rows[r + 1]) : 0;
        const uint32_t v2 = rem > 2 ? ld32(xw + rows[r + 2]) : 0;
        widen_group((v0 & 0x00FFFFFFu) | v1 << 24, gp);
        if (rem > 1) widen_group((v1 >> 8 & 0xFFFFu) | v2 << 16, gp + 12);
        if (rem > 2) widen_group(v2 >> 16 & 0xFFu, gp + 24);
    }
}

/* The same for 4-tap window rows (dil_w 1; DS-CNN's 10x4 first conv): one row, one group. */
static void column4(const int8_t *xw, const int32_t *rows, int32_t nrows, uint32_t *gp)
{
    for (int32_t r = 0; r < nrows; ++r, gp += 12) widen_group(ld32(xw + rows[r]), gp);
}

/* column4 for a pixel whose window hangs over the padding (4-tap rows, dil_w 1, at most one
 * padded column a side, w_in >= 4: DS-CNN's 10x4 first conv): each row is one group, a
 * padding row in_zp x 4, a padded column shifted or masked in. 0: not this case. */
static int column4_edge(const int8_t *xg, const mf_conv2d_s8_desc *d, int32_t cig, int32_t hw,
                        int32_t ih0, int32_t iw0, uint32_t *gp)
{
    const uint32_t zb = (uint8_t)d->in_zp, z4 = zb * 0x01010101u;
    const int left = iw0 == -1, right = iw0 + 3 == d->w_in;
    if (d->k_w != 4 || d->dil_w != 1 || d->w_in < 4 || iw0 < -1 || iw0 + 3 > d->w_in)
        return 0;
    for (int32_t ci = 0; ci < cig; ++ci)
        for (int32_t kh = 0; kh < d->k_h; ++kh, gp += 12) {
            const int32_t ih = ih0 + kh * d->dil_h;
            uint32_t v = z4;
            if (ih >= 0 && ih < d->h_in) {
                const int8_t *s = xg + ci * hw + ih * d->w_in + iw0;
                if (left)
                    v = ld32(s + 1) << 8 | zb; /* x[0..3]: w_in >= 4 */
                else if (right)
                    v = ld32(s - 1) >> 8 | zb << 24; /* x[w-4..w-1] */
                else
                    v = ld32(s);
            }
            widen_group(v, gp);
        }
    return 1;
}

/* A pixel whose 3-tap window rows (dil_w 1) hang one column over the left or right padding,
 * every row inside the input: column3 reads each row's word from one column further left
 * (or right) as if there were no padding, then the padded tap of every row (kw 0 on the
 * left, kw 2 on the right) is set to in_zp in the panel. Window row r holds k = 3r + kw, at
 * int16 (k / 4) * 24 + (0, 2, 1, 3)[k % 4] of the column: the pattern repeats every four
 * rows (three groups, 72 int16). ~6 instructions per four rows instead of the edge gather's
 * ~30 per row. */
static void zero_tap3(int16_t *p, int32_t nrows, int right, int16_t z)
{
    int32_t r = 0;
    if (!right) {
        for (; r + 4 <= nrows; r += 4, p += 72) p[0] = p[3] = p[25] = p[50] = z;
        if (r < nrows) p[0] = z;
        if (r + 1 < nrows) p[3] = z;
        if (r + 2 < nrows) p[25] = z;
    } else {
        for (; r + 4 <= nrows; r += 4, p += 72) p[1] = p[26] = p[48] = p[51] = z;
        if (r < nrows) p[1] = z;
        if (r + 1 < nrows) p[26] = z;
        if (r + 2 < nrows) p[48] = z;
    }
}

/* Columns [p0, p0 + np) of the im2col matrix of one group (xg: its first input channel). */
static void fill_panel(const int8_t *xg, const mf_conv2d_s8_desc *d, int32_t cig, int32_t p0,
                       int32_t np, int16_t *panel, int32_t k, int32_t k4, int8_t *col,
                       const int32_t *rows, const int8_t *x_first, const int8_t *x_last)
{
    const int32_t nrows = cig * d->k_h;
    const int fast3 = d->k_w == 3 && d->dil_w == 1, fast4 = d->k_w == 4 && d->dil_w == 1;
    const int32_t ext_h = (d->k_h - 1) * d->dil_h, ext_w = (d->k_w - 1) * d->dil_w;
    int32_t oh = p0 / d->w_out, ow = p0 % d->w_out;
    for (int32_t i = k; i < k4; ++i) col[i] = 0; /* k4 padding: multiplies nothing */
    for (int32_t j = 0; j < np; ++j) {
        const int32_t ih0 = oh * d->stride_h - d->pad_top, iw0 = ow * d->stride_w - d->pad_left;
        /* every column in a block of six, the last partial block padded (the GEMM's blocks6) */
        uint32_t *gp = __builtin_assume_aligned(panel + (j - j % 6) * k4 + (j % 6) * 4, 8);
        const int inside = ih0 >= 0 && ih0 + ext_h < d->h_in && iw0 >= 0 && iw0 + ext_w < d->w_in;
        const int8_t *xw = xg + ih0 * d->w_in + iw0;
        const int wide = inside && xw + rows[nrows - 1] + ext_w < x_last;
        const int rows_in = ih0 >= 0 && ih0 + ext_h < d->h_in;
        const int left = iw0 == -1, right = iw0 + 2 == d->w_in;
        if (wide && fast3) {
            column3(xw, rows, nrows, gp);
        } else if (fast3 && rows_in && (left || right) && d->w_in >= 3 &&
                   (uintptr_t)(xg + ih0 * d->w_in + iw0) >= (uintptr_t)x_first &&
                   (uintptr_t)(xg + ih0 * d->w_in + iw0 + rows[nrows - 1] + 3) <= (uintptr_t)x_last) {
            /* every word column3 reads lies inside x (the padded tap's byte is replaced) */
            column3(xg + ih0 * d->w_in + iw0, rows, nrows, gp);
            zero_tap3((int16_t *)(void *)gp, nrows, right, (int16_t)d->in_zp);
        } else if (inside && fast4) {
            column4(xw, rows, nrows, gp);
        } else if (fast4 && !inside && column4_edge(xg, d, cig, d->h_in * d->w_in, ih0, iw0, gp)) {
            /* done */
        } else {
            /* the int8 column first, then widened */
            if (inside)
                gather(xw, rows, nrows, d->k_w, d->dil_w, wide, col);
            else if (!gather3_edge(xg, d, cig, d->h_in * d->w_in, ih0, iw0, x_last, col))
                gather_edge(xg, d, cig, ih0, iw0, col);
            for (int32_t i = k; i < k4; ++i) col[i] = 0; /* the wide copy may have written one */
            const int8_t *c = col;
            WIDEN(12)
        }
        if (++ow == d->w_out) {
            ow = 0;
            ++oh;
        }
    }
}

int mf_conv2d_s8_dsp(const int8_t *x, const int8_t *w, const int32_t *bias, int8_t *y,
                     const mf_conv2d_s8_desc *d, void *scratch)
{
    if (!mf_s8_conv_args_ok(x, w, y, d) || !scratch) return MF_EARG;
    if (mf_s8_conv_is_depthwise(d)) {
        depthwise(x, w, bias, y, d, (int8_t *)scratch);
        return MF_OK;
    }
    const int32_t cig = d->c_in / d->groups, cog = d->c_out / d->groups;
    const int32_t k = cig * d->k_h * d->k_w, k4 = mf_s8_k4(k);
    const int32_t hw_in = d->h_in * d->w_in, p_out = d->h_out * d->w_out;
    const int32_t cols = mf_s8_cols_dsp(k);
    int16_t *panel = (int16_t *)scratch;
    int8_t *col = (int8_t *)scratch + panel_bytes(d);
    int32_t *rows = (int32_t *)(void *)(col + mf_s8_k4(k + 1)); /* 4-aligned */
    for (int32_t ci = 0; ci < cig; ++ci)
        for (int32_t kh = 0; kh < d->k_h; ++kh)
            rows[ci * d->k_h + kh] = ci * hw_in + kh * d->dil_h * d->w_in;
    const int8_t *x_last = x + d->n * d->c_in * hw_in - 1;
    for (int32_t n = 0; n < d->n; ++n)
        for (int32_t g = 0; g < d->groups; ++g) {
            const int8_t *xg = x + (n * d->c_in + g * cig) * hw_in;
            const int32_t plain = mf_s8_rq_plain_dsp(&d->rq, g * cog, cog);
            int8_t *yg = y + (n * d->c_out + g * cog) * p_out;
            for (int32_t p0 = 0; p0 < p_out; p0 += cols) {
                const int32_t np = p_out - p0 < cols ? p_out - p0 : cols;
                fill_panel(xg, d, cig, p0, np, panel, k, k4, col, rows, x, x_last);
                mf_gemm_s8_dsp(w + g * cog * k, k, cog, panel, np, 1, bias ? bias + g * cog : 0,
                               yg + p0, p_out, 1, &d->rq, g * cog,
                               d->w_dsp ? d->w_dsp + g * cog * (k4 / 2) : 0, plain);
            }
        }
    return MF_OK;
}
#endif
