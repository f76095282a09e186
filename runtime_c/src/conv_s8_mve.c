/* int8 convolution for Helium (Cortex-M55 MVE): im2col into an int8 panel of
 * MF_S8_COLS_MVE output pixels, one pixel's column (k contiguous, the weights' OIHW order)
 * after another, then the VMLADAVA GEMM of gemm_s8_mve.c over the group's output channels.
 * Regular, pointwise (the panel is a transpose of x) and depthwise (groups == c_in == c_out:
 * k_h * k_w taps per channel) convolutions all run this way; padding reads in_zp. */
#include "mf_int8_simd.h"

/* depthwise: a padded channel plane, then the int32 sums of one (h_out x wp); else the
 * im2col panel, the window's element offsets and each element's kh * dil_h and kw * dil_w
 * (int16, k rounded up to 8) */
int32_t mf_conv2d_s8_mve_scratch_bytes(const mf_conv2d_s8_desc *d)
{
    if (mf_s8_conv_is_depthwise(d))
        return ((mf_s8_dw_hp(d) * mf_s8_dw_wp(d) + 3) & ~3) +
               d->h_out * mf_s8_dw_wp(d) * (int32_t)sizeof(int32_t);
    const int32_t k = d->c_in / d->groups * d->k_h * d->k_w;
    return MF_S8_COLS_MVE * k + 3 * ((k + 7) & ~7) * (int32_t)sizeof(uint16_t);
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
#define LOAD(a) vldrbq_z_s32((a), p)
        for (int32_t i = 0; i < len; i += 4) {
            const mve_pred16_t p = vctp32q((uint32_t)(len - i));
            const int8_t *px = row + i;
            int32x4_t acc = vdupq_n_s32(b);
            TAPS
            vstrwq_p_s32(sr + i, acc, p);
        }
#undef LOAD
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
            mf_s8_pad_copy(x + (n * d->c_in + c) * hw_in, d, hp, wp, plane);
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
            mf_s8_rq_rows_mve(sums, d->h_out, d->w_out, wp, y + (n * d->c_out + c) * d->h_out * d->w_out,
                              &q);
        }
}

/* One pixel's column where the window lies inside the input: per window row (ci, kh), k_w
 * taps from xw + (ci * h_in + kh * dil_h) * w_in. */
static void gather(const int8_t *xw, const mf_conv2d_s8_desc *d, int32_t cig, int32_t hw,
                   int8_t *col)
{
    const int32_t dw = d->dil_w, kw_n = d->k_w, row = d->dil_h * d->w_in;
    for (int32_t ci = 0; ci < cig; ++ci)
        for (int32_t kh = 0; kh < d->k_h; ++kh) {
            const int8_t *s = xw + ci * hw + kh * row;
            for (int32_t kw = 0; kw < kw_n; ++kw) col[kw] = s[kw * dw];
            col += kw_n;
        }
}

/* One pixel's column where the window lies inside the input, eight elements per gather:
 * VLDRB.S16 with the window's element offsets (ci * h_in * w_in + kh * w_in + kw, uint16:
 * used when the group's input is under 64 KB), narrowed back to bytes by VSTRB.16. */
static void gather_vec(const int8_t *xw, const uint16_t *offs, int32_t k, int8_t *col)
{
    for (int32_t i = 0; i < k; i += 8) {
        const mve_pred16_t p = vctp16q((uint32_t)(k - i));
        const uint16x8_t o = vldrhq_z_u16(offs + i, p);
        vstrbq_p_s16(col + i, vldrbq_gather_offset_z_s16(xw, o, p), p);
    }
}

/* The same for a window over the padding: lanes whose tap row or column falls outside the
 * input are not loaded and take in_zp. */
static void gather_vec_edge(const int8_t *xg, const uint16_t *offs, const int16_t *khs,
                            const int16_t *kws, int32_t k, int32_t ih0, int32_t iw0,
                            const mf_conv2d_s8_desc *d, int8_t *col)
{
    const int8_t *xw = xg + ih0 * d->w_in + iw0; /* only valid lanes are dereferenced */
    const int16x8_t zp = vdupq_n_s16((int16_t)d->in_zp);
    for (int32_t i = 0; i < k; i += 8) {
        const mve_pred16_t p = vctp16q((uint32_t)(k - i));
        const int16x8_t ih = vaddq_n_s16(vldrhq_z_s16(khs + i, p), (int16_t)ih0);
        const int16x8_t iw = vaddq_n_s16(vldrhq_z_s16(kws + i, p), (int16_t)iw0);
        mve_pred16_t ok = vcmpgeq_m_n_s16(ih, 0, p);
        ok = vcmpltq_m_n_s16(ih, (int16_t)d->h_in, ok);
        ok = vcmpgeq_m_n_s16(iw, 0, ok);
        ok = vcmpltq_m_n_s16(iw, (int16_t)d->w_in, ok);
        const int16x8_t v = vldrbq_gather_offset_z_s16(xw, vldrhq_z_u16(offs + i, p), ok);
        vstrbq_p_s16(col + i, vpselq_s16(v, zp, ok), p);
    }
}

/* The same where the window hangs over the padding: in_zp there. */
static void gather_edge(const int8_t *xg, const mf_conv2d_s8_desc *d, int32_t cig, int32_t hw,
                        int32_t ih0, int32_t iw0, int8_t *col)
{
    const int32_t dw = d->dil_w;
    int32_t lo = 0, hi = d->k_w;
    while (lo < hi && iw0 + lo * dw < 0) ++lo;
    while (hi > lo && iw0 + (hi - 1) * dw >= d->w_in) --hi;
    for (int32_t ci = 0; ci < cig; ++ci)
        for (int32_t kh = 0; kh < d->k_h; ++kh) {
            const int32_t ih = ih0 + kh * d->dil_h;
            const int ok = ih >= 0 && ih < d->h_in;
            const int8_t *xr = xg + ci * hw + ih * d->w_in + iw0;
            for (int32_t kw = 0; kw < d->k_w; ++kw)
                *col++ = (int8_t)(ok && kw >= lo && kw < hi ? xr[kw * dw] : d->in_zp);
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
    const int32_t k = cig * d->k_h * d->k_w;
    const int32_t hw_in = d->h_in * d->w_in, p_out = d->h_out * d->w_out;
    const int32_t ext_h = (d->k_h - 1) * d->dil_h, ext_w = (d->k_w - 1) * d->dil_w;
    int8_t *panel = (int8_t *)scratch;
    uint16_t *offs = (uint16_t *)(void *)(panel + MF_S8_COLS_MVE * k);
    int16_t *khs = (int16_t *)(offs + ((k + 7) & ~7)), *kws = khs + ((k + 7) & ~7);
    /* uint16 gather offsets reach the whole window when the group's input is under 64 KB */
    const int vec = (cig - 1) * hw_in + ext_h * d->w_in + ext_w < 65536 && d->h_in < 32768 &&
                    d->w_in < 32768;
    if (vec)
        for (int32_t ci = 0, i = 0; ci < cig; ++ci)
            for (int32_t kh = 0; kh < d->k_h; ++kh)
                for (int32_t kw = 0; kw < d->k_w; ++kw)
                {
                    khs[i] = (int16_t)(kh * d->dil_h);
                    kws[i] = (int16_t)(kw * d->dil_w);
                    offs[i++] = (uint16_t)(ci * hw_in + kh * d->dil_h * d->w_in + kw * d->dil_w);
                }
    for (int32_t n = 0; n < d->n; ++n)
        for (int32_t g = 0; g < d->groups; ++g) {
            const int8_t *xg = x + (n * d->c_in + g * cig) * hw_in;
            int8_t *yg = y + (n * d->c_out + g * cog) * p_out;
            for (int32_t p0 = 0; p0 < p_out; p0 += MF_S8_COLS_MVE) {
                const int32_t np = p_out - p0 < MF_S8_COLS_MVE ? p_out - p0 : MF_S8_COLS_MVE;
                int32_t oh = p0 / d->w_out, ow = p0 % d->w_out;
                for (int32_t j = 0; j < np; ++j) {
                    const int32_t ih0 = oh * d->stride_h - d->pad_top;
                    const int32_t iw0 = ow * d->stride_w - d->pad_left;
                    if (ih0 >= 0 && ih0 + ext_h < d->h_in && iw0 >= 0 && iw0 + ext_w < d->w_in) {
                        if (vec)
                            gather_vec(xg + ih0 * d->w_in + iw0, offs, k, panel + j * k);
                        else
                            gather(xg + ih0 * d->w_in + iw0, d, cig, hw_in, panel + j * k);
                    } else if (vec) {
                        gather_vec_edge(xg, offs, khs, kws, k, ih0, iw0, d, panel + j * k);
                    } else {
                        gather_edge(xg, d, cig, hw_in, ih0, iw0, panel + j * k);
                    }
                    if (++ow == d->w_out) {
                        ow = 0;
                        ++oh;
                    }
                }
                mf_gemm_s8_mve(w + g * cog * k, k, cog, panel, k, np, bias ? bias + g * cog : 0,
                               yg + p0, p_out, 1, &d->rq, g * cog);
            }
        }
    return MF_OK;
}
#endif
