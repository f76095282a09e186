/* int8 convolution for Helium (Cortex-M55 MVE): im2col into an interleaved int8 panel of
 * MF_S8_COLS_MVE output pixels (mf_int8_mve.h), built once per pixel group and read by
 * every output channel, then the 2 x 4 VMLADAVA GEMM of gemm_s8_mve.c over the group's
 * output channels. Each column is gathered 8 bytes per VLDRB.S16 with a table of the
 * window's uint16 element offsets, the four pixels of a panel group with each offset vector
 * loaded once. Where windows hang over the padding, the gathers read a padded copy of the
 * input rows of one output row (the "band", [c][k_h][wp], in_zp around the input), so no
 * gather needs a bounds check; where no window does, they read x itself. Depthwise
 * convolutions (groups == c_in == c_out) run per channel from a padded plane. */
#include "mf_int8_mve.h"

/* How a non-depthwise conv's columns are gathered: from x (every window inside the input),
 * from the padded band, or (offsets past uint16) element by element. */
enum { MF_S8_MVE_DIRECT, MF_S8_MVE_BAND, MF_S8_MVE_SCALAR };

static int32_t gather_mode(const mf_conv2d_s8_desc *d)
{
    const int32_t cig = d->c_in / d->groups, ext_h = (d->k_h - 1) * d->dil_h;
    const int32_t ext_w = (d->k_w - 1) * d->dil_w;
    const int inside = d->pad_top <= 0 && d->pad_left <= 0 &&
                       (d->h_out - 1) * d->stride_h - d->pad_top + ext_h < d->h_in &&
                       (d->w_out - 1) * d->stride_w - d->pad_left + ext_w < d->w_in;
    if (inside && (cig - 1) * d->h_in * d->w_in + ext_h * d->w_in + ext_w < 65536)
        return MF_S8_MVE_DIRECT;
    if (cig * d->k_h * mf_s8_dw_wp(d) < 65536) return MF_S8_MVE_BAND;
    return MF_S8_MVE_SCALAR;
}

static int32_t band_bytes(const mf_conv2d_s8_desc *d)
{
    return gather_mode(d) == MF_S8_MVE_BAND
               ? ((d->c_in / d->groups * d->k_h * mf_s8_dw_wp(d) + 15) & ~15) : 0;
}

/* depthwise: a padded channel plane, then the int32 sums of one (h_out x wp); else the
 * panel (k rounded up to 16 per column), the k16 uint16 element offsets and the band */
int32_t mf_conv2d_s8_mve_scratch_bytes(const mf_conv2d_s8_desc *d)
{
    if (mf_s8_conv_is_depthwise(d))
        return ((mf_s8_dw_hp(d) * mf_s8_dw_wp(d) + 3) & ~3) +
               d->h_out * mf_s8_dw_wp(d) * (int32_t)sizeof(int32_t);
    const int32_t k16 = mf_s8_k16(d->c_in / d->groups * d->k_h * d->k_w);
    return MF_S8_COLS_MVE * k16 + k16 * (int32_t)sizeof(uint16_t) + band_bytes(d);
}

#if defined(__ARM_FEATURE_MVE)
#include <arm_mve.h>

/* len sums of a 3x3 window row strip: the nine taps unrolled, contiguous loads at stride 1,
 * gathers otherwise. */
#define TAP(kh, kw) \
    acc = vmlaq_n_s32(acc, LOAD(px + (kh) * r1 + (kw) * dw), wk[(kh) * 3 + (kw)]);
#define TAPS TAP(0, 0) TAP(0, 1) TAP(0, 2) TAP(1, 0) TAP(1, 1) TAP(1, 2) TAP(2, 0) TAP(2, 1) TAP(2, 2)

static void dw3_strip(const int8_t *row, int32_t r1, int32_t dw, int32_t sw, int32_t len,
                      int32_t b, const int8_t *wc, uint32x4_t offs, int32_t *sr)
{
    int32_t wk[9];
    for (int32_t t = 0; t < 9; ++t) wk[t] = wc[t];
    if (sw == 1) {
        /* one window row per pass over the strip, its sums kept in sr between passes: 3
         * weights and 3 row pointers stay in registers (all 9 taps at once would spill them) */
        for (int32_t kh = 0; kh < 3; ++kh) {
            const int32_t a = wk[kh * 3], c = wk[kh * 3 + 1], e = wk[kh * 3 + 2];
            const int8_t *p0 = row + kh * r1, *p1 = p0 + dw, *p2 = p1 + dw;
            int32_t *s = sr;
            for (int32_t i = 0; i < len; i += 4, p0 += 4, p1 += 4, p2 += 4, s += 4) {
                const mve_pred16_t p = vctp32q((uint32_t)(len - i));
                int32x4_t acc = kh == 0 ? vdupq_n_s32(b) : vldrwq_z_s32(s, p);
                acc = vmlaq_n_s32(acc, vldrbq_z_s32(p0, p), a);
                acc = vmlaq_n_s32(acc, vldrbq_z_s32(p1, p), c);
                acc = vmlaq_n_s32(acc, vldrbq_z_s32(p2, p), e);
                vstrwq_p_s32(s, acc, p);
            }
        }
    } else {
#define LOAD(a) vldrbq_gather_offset_z_s32((a), offs, p)
        for (int32_t i = 0; i < len; i += 4) {
            const mve_pred16_t p = vctp32q((uint32_t)(len - i));
            const int8_t *px = row + i * sw;
            int32x4_t acc = vdupq_n_s32(b);
            TAPS
            vstrwq_p_s32(sr + i, acc, p);
        }
#undef LOAD
    }
}

/* A rows x cols block of bytes from src (row pitch sp) to dst (row pitch dp), column by
 * column: eight rows per gather (VLDRB.S16, offsets r * sp) and scatter (VSTRB.16, r * dp).
 * For planes taller than wide (DS-CNN's 25 x 5), where a row is one short vector. */
static void copy_cols(int8_t *dst, int32_t dp, const int8_t *src, int32_t sp, int32_t rows,
                      int32_t cols)
{
    const uint16x8_t r8 = vidupq_n_u16(0, 1);
    const uint16x8_t so = vmulq_n_u16(r8, (uint16_t)sp), dof = vmulq_n_u16(r8, (uint16_t)dp);
    for (int32_t r = 0; r < rows; r += 8, src += 8 * sp, dst += 8 * dp) {
        const mve_pred16_t p = vctp16q((uint32_t)(rows - r));
        for (int32_t c = 0; c < cols; ++c)
            vstrbq_scatter_offset_p_s16(dst + c, dof, vldrbq_gather_offset_z_s16(src + c, so, p), p);
    }
}

/* mf_s8_pad_copy (the channel's rows into the padded plane's interior), by columns where
 * the plane is taller than wide. */
static void pad_copy_mve(const int8_t *xc, const mf_conv2d_s8_desc *d, int32_t hp, int32_t wp,
                         int8_t *plane)
{
    const int32_t c_lo = d->pad_left < wp ? d->pad_left : wp;
    const int32_t c_hi = d->pad_left + d->w_in < wp ? d->pad_left + d->w_in : wp;
    const int32_t r_lo = d->pad_top < hp ? d->pad_top : hp;
    const int32_t r_hi = d->pad_top + d->h_in < hp ? d->pad_top + d->h_in : hp;
    if (c_hi - c_lo >= r_hi - r_lo || wp >= 65536 / 8 || d->w_in >= 65536 / 8) {
        mf_s8_pad_copy(xc, d, hp, wp, plane);
        return;
    }
    copy_cols(plane + r_lo * wp + c_lo, wp, xc + (r_lo - d->pad_top) * d->w_in + (c_lo - d->pad_left),
              d->w_in, r_hi - r_lo, c_hi - c_lo);
}

/* Depthwise, one channel at a time from its padded copy, four outputs per int32x4: per tap
 * one widening byte load (a gather at stride 2 and more) and one VMLA by the tap's weight.
 * At stride 1 the plane is walked as one long row (the wp - w_out sums past each row's end
 * are dropped), so the vectors stay full even when w_out is 5 (DS-CNN). */
static void depthwise(const int8_t *x, const int8_t *w, const int32_t *bias, int8_t *y,
                      const mf_conv2d_s8_desc *d, int8_t *plane)
{
    const int32_t hp = mf_s8_dw_hp(d), wp = mf_s8_dw_wp(d), hw_in = d->h_in * d->w_in;
    const int32_t taps = d->k_h * d->k_w, sw = d->stride_w;
    int32_t *sums = (int32_t *)(void *)(plane + ((hp * wp + 3) & ~3));
    const int flat = d->stride_h == 1 && sw == 1;
    const int32_t rows = flat ? 1 : d->h_out;
    const int32_t len = flat ? (d->h_out - 1) * wp + d->w_out : d->w_out;
    const uint32x4_t offs = vmulq_n_u32(vidupq_n_u32(0, 1), (uint32_t)sw);
    const int32_t r1 = d->dil_h * wp;
    mf_s8_pad_init(d, hp, wp, plane);
    for (int32_t n = 0; n < d->n; ++n)
        for (int32_t c = 0; c < d->c_out; ++c) {
            pad_copy_mve(x + (n * d->c_in + c) * hw_in, d, hp, wp, plane);
            const int8_t *wc = w + c * taps;
            const mf_s8_rq_ch q = mf_s8_rq_prepare(&d->rq, c);
            const int32_t b = bias ? bias[c] : 0;
            for (int32_t oh = 0; oh < rows; ++oh) {
                const int8_t *row = plane + oh * d->stride_h * wp;
                int32_t *sr = sums + oh * wp;
                if (d->k_h == 3 && d->k_w == 3)
                    dw3_strip(row, r1, d->dil_w, sw, len, b, wc, offs, sr);
                else
                    for (int32_t i = 0; i < len; i += 4) {
                        const mve_pred16_t p = vctp32q((uint32_t)(len - i));
                        int32x4_t acc = vdupq_n_s32(b);
                        const int8_t *px = row + i * sw;
                        for (int32_t kh = 0; kh < d->k_h; ++kh)
                            for (int32_t kw = 0; kw < d->k_w; ++kw) {
                                const int8_t *t = px + kh * r1 + kw * d->dil_w;
                                acc = vmlaq_n_s32(acc, vldrbq_gather_offset_z_s32(t, offs, p),
                                                  wc[kh * d->k_w + kw]);
                            }
                        vstrwq_p_s32(sr + i, acc, p);
                    }
            }
            int8_t *yc = y + (n * d->c_out + c) * d->h_out * d->w_out;
            if (flat && d->w_out < wp) {
                /* the whole strip requantised at once into the sums' own bytes (byte j is
                 * written after sum j is read, never over a sum not yet read), then each
                 * row's first w_out outputs out: narrow rows (DS-CNN's 5) cost one short
                 * vector each instead of a requantisation loop each */
                int8_t *t = (int8_t *)sums;
                mf_s8_rq_rows_mve(sums, 1, len, 0, t, &q);
                if (d->w_out < d->h_out && wp < 65536 / 8) {
                    copy_cols(yc, d->w_out, t, wp, d->h_out, d->w_out);
                } else {
                    const mve_pred16_t p = vctp8q((uint32_t)(d->w_out < 16 ? d->w_out : 16));
                    for (int32_t oh = 0; oh < d->h_out; ++oh, t += wp, yc += d->w_out)
                        if (d->w_out <= 16)
                            vstrbq_p_s8(yc, vldrbq_z_s8(t, p), p);
                        else
                            memcpy(yc, t, (size_t)d->w_out);
                }
            } else {
                mf_s8_rq_rows_mve(sums, d->h_out, d->w_out, wp, yc, &q);
            }
        }
}

/* The band of output row oh: input rows oh * stride_h - pad_top + kh * dil_h of the
 * group's channels, columns from -pad_left; the columns around the input already hold
 * in_zp (set once per call), rows outside the input take it here. */
static void fill_band(const int8_t *xg, const mf_conv2d_s8_desc *d, int32_t cig, int32_t wp,
                      int32_t oh, int8_t *band)
{
    const int32_t c_lo = d->pad_left < 0 ? 0 : (d->pad_left < wp ? d->pad_left : wp);
    const int32_t c_hi = d->pad_left + d->w_in < wp ? d->pad_left + d->w_in : wp;
    const int32_t n = c_hi - c_lo, hw = d->h_in * d->w_in, cstep = d->k_h * wp;
    const int8x16_t zp = vdupq_n_s8((int8_t)d->in_zp);
    for (int32_t kh = 0; kh < d->k_h; ++kh) {
        const int32_t ih = oh * d->stride_h - d->pad_top + kh * d->dil_h;
        int8_t *dst = band + kh * wp + c_lo;
        if (ih >= 0 && ih < d->h_in) {
            const int8_t *src = xg + ih * d->w_in + c_lo - d->pad_left;
            if (n <= 16) { /* ResNet-8's 8- and 16-wide maps: one vector per row */
                const mve_pred16_t p = vctp8q((uint32_t)n);
                for (int32_t ci = 0; ci < cig; ++ci, src += hw, dst += cstep)
                    vstrbq_p_s8(dst, vldrbq_z_s8(src, p), p);
                continue;
            }
            for (int32_t ci = 0; ci < cig; ++ci, src += hw, dst += cstep) {
                const int8_t *sp = src;
                int8_t *dp = dst;
                for (int32_t i = n; i > 0; i -= 16, sp += 16, dp += 16) {
                    const mve_pred16_t p = vctp8q((uint32_t)i);
                    vstrbq_p_s8(dp, vldrbq_z_s8(sp, p), p);
                }
            }
        } else {
            for (int32_t ci = 0; ci < cig; ++ci, dst += cstep)
                for (int32_t i = 0; i < n; i += 16) vstrbq_p_s8(dst + i, zp, vctp8q((uint32_t)(n - i)));
        }
    }
}

/* Element by element where the offsets pass uint16 (windows over more than 64 KB). */
static void gather_scalar(const int8_t *xg, const mf_conv2d_s8_desc *d, int32_t cig,
                          int32_t oh, int32_t ow, int32_t k16, int8_t *panel, int32_t j)
{
    const int32_t ih0 = oh * d->stride_h - d->pad_top, iw0 = ow * d->stride_w - d->pad_left;
    int32_t kk = 0;
    for (int32_t ci = 0; ci < cig; ++ci)
        for (int32_t kh = 0; kh < d->k_h; ++kh)
            for (int32_t kw = 0; kw < d->k_w; ++kw, ++kk) {
                const int32_t ih = ih0 + kh * d->dil_h, iw = iw0 + kw * d->dil_w;
                const int ok = ih >= 0 && ih < d->h_in && iw >= 0 && iw < d->w_in;
                panel[mf_s8_panel_mve_at(j, kk, k16)] =
                    (int8_t)(ok ? xg[(ci * d->h_in + ih) * d->w_in + iw] : d->in_zp);
            }
}

int mf_conv2d_s8_mve(const int8_t *x, const int8_t *w, const int32_t *bias, int8_t *y,
                     const mf_conv2d_s8_desc *d, void *scratch)
{
    if (!mf_s8_conv_args_ok(x, w, y, d) || !scratch) return MF_EARG;
    if (mf_s8_conv_is_depthwise(d)) {
        depthwise(x, w, bias, y, d, (int8_t *)scratch);
        return MF_OK;
    }
    const int32_t cig = d->c_in / d->groups, cog = d->c_out / d->groups;
    const int32_t k = cig * d->k_h * d->k_w, k16 = mf_s8_k16(k);
    const int32_t hw_in = d->h_in * d->w_in, p_out = d->h_out * d->w_out;
    const int32_t wp = mf_s8_dw_wp(d), sw = d->stride_w, mode = gather_mode(d);
    int8_t *panel = (int8_t *)scratch;
    uint16_t *offs = (uint16_t *)(void *)(panel + MF_S8_COLS_MVE * k16);
    int8_t *band = (int8_t *)(offs + k16);
    /* the window's element offsets in the band ([c][k_h][wp]) or in x */
    for (int32_t ci = 0, i = 0; ci < cig; ++ci)
        for (int32_t kh = 0; kh < d->k_h; ++kh)
            for (int32_t kw = 0; kw < d->k_w; ++kw)
                offs[i++] = (uint16_t)(mode == MF_S8_MVE_BAND
                                           ? (ci * d->k_h + kh) * wp + kw * d->dil_w
                                           : ci * hw_in + kh * d->dil_h * d->w_in + kw * d->dil_w);
    for (int32_t i = k; i < k16; ++i) offs[i] = 0;
    if (mode == MF_S8_MVE_BAND)
        for (int32_t i = 0, nb = cig * d->k_h * wp; i < nb; i += 16)
            vstrbq_p_s8(band + i, vdupq_n_s8((int8_t)d->in_zp), vctp8q((uint32_t)(nb - i)));
    for (int32_t n = 0; n < d->n; ++n)
        for (int32_t g = 0; g < d->groups; ++g) {
            const int8_t *xg = x + (n * d->c_in + g * cig) * hw_in;
            int8_t *yg = y + (n * d->c_out + g * cog) * p_out;
            int32_t band_oh = -1;
            for (int32_t p0 = 0; p0 < p_out; p0 += MF_S8_COLS_MVE) {
                const int32_t np = p_out - p0 < MF_S8_COLS_MVE ? p_out - p0 : MF_S8_COLS_MVE;
                int32_t oh = p0 / d->w_out, ow = p0 % d->w_out;
                for (int32_t j = 0; j < np;) {
                    int8_t *col = panel + mf_s8_panel_mve_at(j, 0, k16);
                    const int32_t ih0 = oh * d->stride_h - d->pad_top, iw0 = ow * sw - d->pad_left;
                    /* four pixels of one output row (a whole panel group) at once */
                    const int32_t step = (j & 3) == 0 && j + 4 <= np && ow + 4 <= d->w_out ? 4 : 1;
                    if (mode == MF_S8_MVE_SCALAR) {
                        gather_scalar(xg, d, cig, oh, ow, k16, panel, j);
                        ow += 1;
                        j += 1;
                        if (ow == d->w_out) {
                            ow = 0;
                            ++oh;
                        }
                        continue;
                    }
                    const int8_t *src;
                    if (mode == MF_S8_MVE_BAND) {
                        if (oh != band_oh) {
                            fill_band(xg, d, cig, wp, oh, band);
                            band_oh = oh;
                        }
                        src = band + ow * sw;
                    } else {
                        src = xg + ih0 * d->w_in + iw0;
                    }
                    if (step == 4)
                        mf_s8_gather_cols4_mve(src, sw, offs, k, col);
                    else
                        mf_s8_gather_col_mve(src, offs, k, col);
                    ow += step;
                    j += step;
                    if (ow == d->w_out) {
                        ow = 0;
                        ++oh;
                    }
                }
                mf_gemm_s8_mve(w + g * cog * k, k, cog, panel, np, bias ? bias + g * cog : 0,
                               yg + p0, p_out, &d->rq, g * cog);
            }
        }
    return MF_OK;
}
#endif
