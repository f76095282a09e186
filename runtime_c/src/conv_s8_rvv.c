/* int8 convolution for RISC-V vector (RVV 1.0). Output rows at least 16 wide (a whole
 * e16/LMUL=2 strip at VLEN=128) run from a "band": the k_h input rows of one output row,
 * widened to int16 once and padded with in_zp ([c][k_h][wp]). Each tap (ci, kh, kw) of a
 * strip of output pixels is then a vector load straight from the band (unit stride, or
 * strided at stride 2), times four output channels' weights (vwmacc.vx int16 x int16 ->
 * int32), so no im2col panel is built: the panel rows were k copies of the band's rows.
 * Narrower maps (where a strip of one row would leave lanes idle) build the int16 im2col
 * panel [k][cols] of MF_S8_COLS_RVV output pixels over several rows (vle8/vlse8, vsext to
 * int16, vse16) for the outer-product GEMM of gemm_s8_rvv.c. Depthwise convolutions
 * (groups == c_in == c_out) run per channel from a padded int16 plane. Padding reads in_zp
 * (mf_int8.h). */
#include "mf_int8_simd.h"

#define MF_S8_BAND_MIN_W_RVV 16

static int32_t rvv_band(const mf_conv2d_s8_desc *d)
{
    return !mf_s8_conv_is_depthwise(d) && d->w_out >= MF_S8_BAND_MIN_W_RVV;
}

/* depthwise: an int16 padded channel plane and, at stride 1, the h_out x wp outputs of the
 * plane walked as one long row; wide maps: the int16 band; else the im2col panel */
int32_t mf_conv2d_s8_rvv_scratch_bytes(const mf_conv2d_s8_desc *d)
{
    if (mf_s8_conv_is_depthwise(d))
        return mf_s8_dw_hp(d) * mf_s8_dw_wp(d) * (int32_t)sizeof(int16_t) +
               d->h_out * mf_s8_dw_wp(d);
    if (rvv_band(d))
        return d->c_in / d->groups * d->k_h * mf_s8_dw_wp(d) * (int32_t)sizeof(int16_t);
    const int32_t k = d->c_in / d->groups * d->k_h * d->k_w;
    return MF_S8_COLS_RVV * k * (int32_t)sizeof(int16_t);
}

#if defined(__riscv_vector)
#include <riscv_vector.h>

static void put_zp(int16_t *dst, int32_t n, int16_t zp)
{
    for (size_t vl; n > 0; n -= (int32_t)vl, dst += vl) {
        vl = __riscv_vsetvl_e16m2((size_t)n);
        __riscv_vse16_v_i16m2(dst, __riscv_vmv_v_x_i16m2(zp, vl), vl);
    }
}

static void put_x(int16_t *dst, const int8_t *src, int32_t stride, int32_t n)
{
    for (size_t vl; n > 0; n -= (int32_t)vl, dst += vl, src += (int32_t)vl * stride) {
        vl = __riscv_vsetvl_e8m1((size_t)n);
        const vint8m1_t v = stride == 1 ? __riscv_vle8_v_i8m1(src, vl)
                                        : __riscv_vlse8_v_i8m1(src, stride, vl);
        __riscv_vse16_v_i16m2(dst, __riscv_vsext_vf2_i16m2(v, vl), vl);
    }
}

/* A rows x cols block of int8 from src (row pitch sp) widened into dst (row pitch dp): row
 * by row, or column by column (strided loads and stores) where the block is taller than wide,
 * so that a narrow plane (DS-CNN's 25 x 5) costs a few vectors per column, not one short
 * vector per row. */
static void put_block(int16_t *dst, int32_t dp, const int8_t *src, int32_t sp, int32_t rows,
                      int32_t cols)
{
    if (cols >= rows) {
        for (int32_t r = 0; r < rows; ++r) put_x(dst + r * dp, src + r * sp, 1, cols);
        return;
    }
    for (int32_t c = 0; c < cols; ++c)
        for (int32_t r = 0; r < rows;) {
            const size_t vl = __riscv_vsetvl_e8m1((size_t)(rows - r));
            const vint8m1_t v = __riscv_vlse8_v_i8m1(src + r * sp + c, sp, vl);
            __riscv_vsse16_v_i16m2(dst + r * dp + c, (ptrdiff_t)dp * 2, __riscv_vsext_vf2_i16m2(v, vl), vl);
            r += (int32_t)vl;
        }
}

/* The same without widening (int8 to int8). */
static void copy_block(int8_t *dst, int32_t dp, const int8_t *src, int32_t sp, int32_t rows,
                       int32_t cols)
{
    if (cols >= rows) {
        for (int32_t r = 0; r < rows; ++r)
            for (int32_t c = 0; c < cols;) {
                const size_t vl = __riscv_vsetvl_e8m1((size_t)(cols - c));
                __riscv_vse8_v_i8m1(dst + r * dp + c, __riscv_vle8_v_i8m1(src + r * sp + c, vl), vl);
                c += (int32_t)vl;
            }
        return;
    }
    for (int32_t c = 0; c < cols; ++c)
        for (int32_t r = 0; r < rows;) {
            const size_t vl = __riscv_vsetvl_e8m1((size_t)(rows - r));
            __riscv_vsse8_v_i8m1(dst + r * dp + c, dp, __riscv_vlse8_v_i8m1(src + r * sp + c, sp, vl), vl);
            r += (int32_t)vl;
        }
}

/* len outputs of a 3x3 window row strip, the nine taps unrolled with their weights in
 * registers: contiguous loads at stride 1, strided ones otherwise. */
#define TAP(kh, kw) \
    acc = __riscv_vwmacc_vx_i32m4(acc, w##kh##kw, LOAD(px + (kh) * r1 + (kw) * dw), vl);
#define TAPS TAP(0, 0) TAP(0, 1) TAP(0, 2) TAP(1, 0) TAP(1, 1) TAP(1, 2) TAP(2, 0) TAP(2, 1) TAP(2, 2)

static void dw3_strips(const int16_t *row, int32_t r1, int32_t dw, int32_t sw, int32_t len,
                       int32_t b, const int8_t *wc, int8_t *out, const mf_requant_s8 *rq,
                       int32_t ch)
{
    const int16_t w00 = wc[0], w01 = wc[1], w02 = wc[2], w10 = wc[3], w11 = wc[4];
    const int16_t w12 = wc[5], w20 = wc[6], w21 = wc[7], w22 = wc[8];
    for (int32_t i = 0; i < len;) {
        const size_t vl = __riscv_vsetvl_e16m2((size_t)(len - i));
        const int16_t *px = row + i * sw;
        vint32m4_t acc = __riscv_vmv_v_x_i32m4(b, vl);
        if (sw == 1) {
#define LOAD(a) __riscv_vle16_v_i16m2((a), vl)
            TAPS
#undef LOAD
        } else {
#define LOAD(a) __riscv_vlse16_v_i16m2((a), (ptrdiff_t)sw * 2, vl)
            TAPS
#undef LOAD
        }
        mf_s8_rq_store_rvv(out + i, acc, rq, ch, vl);
        i += (int32_t)vl;
    }
}

/* Depthwise, one channel at a time from an int16 copy padded with in_zp: per tap one vector
 * load (strided at stride 2 and more) and one vwmacc.vx by the tap's weight, 16 outputs per
 * e16/LMUL=2 vector. At stride 1 the plane is walked as one long row and the wp - w_out
 * outputs past each row's end are dropped afterwards, so the vectors stay full even when
 * w_out is 5 (DS-CNN). */
static void depthwise(const int8_t *x, const int8_t *w, const int32_t *bias, int8_t *y,
                      const mf_conv2d_s8_desc *d, int16_t *plane)
{
    const int32_t hp = mf_s8_dw_hp(d), wp = mf_s8_dw_wp(d), hw_in = d->h_in * d->w_in;
    const int32_t taps = d->k_h * d->k_w, sw = d->stride_w, r1 = d->dil_h * wp;
    const int flat = d->stride_h == 1 && sw == 1;
    int8_t *virt = (int8_t *)(plane + hp * wp);
    const int32_t c_lo = d->pad_left < wp ? d->pad_left : wp;
    const int32_t c_hi = d->pad_left + d->w_in < wp ? d->pad_left + d->w_in : wp;
    const int32_t r_lo = d->pad_top < hp ? d->pad_top : hp;
    const int32_t r_hi = d->pad_top + d->h_in < hp ? d->pad_top + d->h_in : hp;
    put_zp(plane, hp * wp, (int16_t)d->in_zp); /* the padding is the same for every channel */
    for (int32_t n = 0; n < d->n; ++n)
        for (int32_t c = 0; c < d->c_out; ++c) {
            const int8_t *xc = x + (n * d->c_in + c) * hw_in;
            put_block(plane + r_lo * wp + c_lo, wp, xc + (r_lo - d->pad_top) * d->w_in + (c_lo - d->pad_left),
                      d->w_in, r_hi - r_lo, c_hi - c_lo);
            const int8_t *wc = w + c * taps;
            const int32_t b = bias ? bias[c] : 0;
            int8_t *yc = y + (n * d->c_out + c) * d->h_out * d->w_out;
            const int32_t rows = flat ? 1 : d->h_out;
            const int32_t len = flat ? (d->h_out - 1) * wp + d->w_out : d->w_out;
            for (int32_t oh = 0; oh < rows; ++oh) {
                const int16_t *row = plane + oh * d->stride_h * wp;
                int8_t *out = flat ? virt : yc + oh * d->w_out;
                if (d->k_h == 3 && d->k_w == 3) {
                    dw3_strips(row, r1, d->dil_w, sw, len, b, wc, out, &d->rq, c);
                    continue;
                }
                for (int32_t i = 0; i < len;) {
                    const size_t vl = __riscv_vsetvl_e16m2((size_t)(len - i));
                    const int16_t *px = row + i * sw;
                    vint32m4_t acc = __riscv_vmv_v_x_i32m4(b, vl);
                    for (int32_t kh = 0; kh < d->k_h; ++kh)
                        for (int32_t kw = 0; kw < d->k_w; ++kw)
                            acc = __riscv_vwmacc_vx_i32m4(
                                acc, wc[kh * d->k_w + kw],
                                __riscv_vlse16_v_i16m2(px + kh * r1 + kw * d->dil_w, (ptrdiff_t)sw * 2, vl), vl);
                    mf_s8_rq_store_rvv(out + i, acc, &d->rq, c, vl);
                    i += (int32_t)vl;
                }
            }
            if (flat) /* keep the first w_out of every wp outputs */
                copy_block(yc, d->w_out, virt, wp, d->h_out, d->w_out);
        }
}

/* Columns [p0, p0 + np) of the im2col matrix of one group as int16. Within one output row
 * of those pixels, panel row (ci, kh, kw) is in_zp where the tap is in the padding and
 * x[ci][ih][iw0 + t * stride] between: the segment's bounds are worked out once per
 * (kh, kw) and serve every input channel. */
static void fill_panel(const int8_t *xg, const mf_conv2d_s8_desc *d, int32_t cig, int32_t p0,
                       int32_t np, int16_t *panel)
{
    const int32_t hw = d->h_in * d->w_in, sw = d->stride_w, rstep = d->k_h * d->k_w;
    const int16_t zp = (int16_t)d->in_zp;
    int32_t oh = p0 / d->w_out, ow = p0 % d->w_out;
    for (int32_t j = 0; j < np;) {
        const int32_t seg = np - j < d->w_out - ow ? np - j : d->w_out - ow;
        for (int32_t kh = 0; kh < d->k_h; ++kh) {
            const int32_t ih = oh * d->stride_h - d->pad_top + kh * d->dil_h;
            const int row_ok = ih >= 0 && ih < d->h_in;
            for (int32_t kw = 0; kw < d->k_w; ++kw) {
                int16_t *dst = panel + (kh * d->k_w + kw) * MF_S8_COLS_RVV + j;
                const int32_t iw = ow * sw - d->pad_left + kw * d->dil_w;
                int32_t lo = 0, hi = 0;
                if (row_ok) {
                    lo = iw >= 0 ? 0 : (-iw + sw - 1) / sw;
                    hi = iw < d->w_in ? (d->w_in - 1 - iw) / sw + 1 : 0;
                    if (lo > seg) lo = seg;
                    if (hi > seg) hi = seg;
                    if (hi < lo) hi = lo;
                }
                const int8_t *src = row_ok ? xg + ih * d->w_in + iw + lo * sw : xg;
                for (int32_t ci = 0; ci < cig; ++ci, dst += rstep * MF_S8_COLS_RVV, src += hw) {
                    if (lo > 0) put_zp(dst, lo, zp);
                    if (hi > lo) put_x(dst + lo, src, sw, hi - lo);
                    if (seg > hi) put_zp(dst + hi, seg - hi, zp);
                }
            }
        }
        j += seg;
        ow = 0;
        ++oh;
    }
}

/* The band of output row oh: its k_h input rows of the group's channels as int16, columns
 * from -pad_left ([c][k_h][wp]); the columns around the input hold in_zp from the call's
 * start, rows outside the input take it here. */
static void fill_band(const int8_t *xg, const mf_conv2d_s8_desc *d, int32_t cig, int32_t wp,
                      int32_t oh, int16_t *band)
{
    const int32_t c_lo = d->pad_left < 0 ? 0 : (d->pad_left < wp ? d->pad_left : wp);
    const int32_t c_hi = d->pad_left + d->w_in < wp ? d->pad_left + d->w_in : wp;
    const int32_t n = c_hi - c_lo, hw = d->h_in * d->w_in, cstep = d->k_h * wp;
    for (int32_t kh = 0; kh < d->k_h; ++kh) {
        const int32_t ih = oh * d->stride_h - d->pad_top + kh * d->dil_h;
        int16_t *dst = band + kh * wp + c_lo;
        const int ok = ih >= 0 && ih < d->h_in;
        const int8_t *src = xg + (ok ? ih * d->w_in + c_lo - d->pad_left : 0);
        for (int32_t ci = 0; ci < cig; ++ci, src += hw, dst += cstep) {
            if (ok)
                put_x(dst, src, 1, n);
            else
                put_zp(dst, n, (int16_t)d->in_zp);
        }
    }
}

static inline vint32m4_t seed(const int32_t *bias, int32_t r, size_t vl)
{
    return __riscv_vmv_v_x_i32m4(bias ? bias[r] : 0, vl);
}

/* One tap row (ci, kh) of a strip for four channels: k_w loads from the band row, each
 * times the four channels' weights of that tap. */
#define BAND_TAPS(LOAD)                                                                     \
    for (int32_t kw = 0; kw < kwn; ++kw) {                                                  \
        const vint16m2_t bv = LOAD;                                                         \
        c0 = __riscv_vwmacc_vx_i32m4(c0, w0[kw], bv, vl);                                   \
        c1 = __riscv_vwmacc_vx_i32m4(c1, w1[kw], bv, vl);                                   \
        c2 = __riscv_vwmacc_vx_i32m4(c2, w2[kw], bv, vl);                                   \
        c3 = __riscv_vwmacc_vx_i32m4(c3, w3[kw], bv, vl);                                   \
    }

#define TAP4(kw, LOAD)                                                                      \
    {                                                                                       \
        const vint16m2_t bv = LOAD;                                                         \
        c0 = __riscv_vwmacc_vx_i32m4(c0, w0[kw], bv, vl);                                   \
        c1 = __riscv_vwmacc_vx_i32m4(c1, w1[kw], bv, vl);                                   \
        c2 = __riscv_vwmacc_vx_i32m4(c2, w2[kw], bv, vl);                                   \
        c3 = __riscv_vwmacc_vx_i32m4(c3, w3[kw], bv, vl);                                   \
    }

/* The cog output channels of output row oh (y: that row of the group's first channel),
 * strips of up to 16 pixels, four channels per pass. */
static void band_row(const int16_t *band, const int8_t *w, const int32_t *bias, int8_t *y,
                     const mf_conv2d_s8_desc *d, int32_t cig, int32_t cog, int32_t wp,
                     int32_t p_out, int32_t ch0)
{
    const int32_t kwn = d->k_w, k = cig * d->k_h * kwn, rows = cig * d->k_h;
    const int32_t sw = d->stride_w, dw = d->dil_w;
    const ptrdiff_t bstride = (ptrdiff_t)sw * 2;
    for (int32_t ow0 = 0; ow0 < d->w_out;) {
        const size_t vl = __riscv_vsetvl_e16m2((size_t)(d->w_out - ow0));
        const int16_t *b0 = band + ow0 * sw;
        int32_t r = 0;
        for (; r + 4 <= cog; r += 4) {
            const int8_t *w0 = w + r * k, *w1 = w0 + k, *w2 = w1 + k, *w3 = w2 + k;
            vint32m4_t c0 = seed(bias, r, vl), c1 = seed(bias, r + 1, vl);
            vint32m4_t c2 = seed(bias, r + 2, vl), c3 = seed(bias, r + 3, vl);
            const int16_t *row = b0;
            /* 3- and 1-wide windows unrolled (weights at immediate offsets), others looped */
            if (kwn == 3 && sw == 1)
                for (int32_t t = 0; t < rows; ++t, row += wp, w0 += 3, w1 += 3, w2 += 3, w3 += 3) {
                    TAP4(0, __riscv_vle16_v_i16m2(row, vl))
                    TAP4(1, __riscv_vle16_v_i16m2(row + dw, vl))
                    TAP4(2, __riscv_vle16_v_i16m2(row + 2 * dw, vl))
                }
            else if (kwn == 3)
                for (int32_t t = 0; t < rows; ++t, row += wp, w0 += 3, w1 += 3, w2 += 3, w3 += 3) {
                    TAP4(0, __riscv_vlse16_v_i16m2(row, bstride, vl))
                    TAP4(1, __riscv_vlse16_v_i16m2(row + dw, bstride, vl))
                    TAP4(2, __riscv_vlse16_v_i16m2(row + 2 * dw, bstride, vl))
                }
            else if (kwn == 1)
                for (int32_t t = 0; t < rows; ++t, row += wp, ++w0, ++w1, ++w2, ++w3)
                    TAP4(0, __riscv_vlse16_v_i16m2(row, bstride, vl))
            else
                for (int32_t t = 0; t < rows; ++t, row += wp, w0 += kwn, w1 += kwn, w2 += kwn, w3 += kwn)
                    BAND_TAPS(__riscv_vlse16_v_i16m2(row + kw * dw, bstride, vl))
            int8_t *yr = y + r * p_out + ow0;
            mf_s8_rq_store_rvv(yr, c0, &d->rq, ch0 + r, vl);
            mf_s8_rq_store_rvv(yr + p_out, c1, &d->rq, ch0 + r + 1, vl);
            mf_s8_rq_store_rvv(yr + 2 * p_out, c2, &d->rq, ch0 + r + 2, vl);
            mf_s8_rq_store_rvv(yr + 3 * p_out, c3, &d->rq, ch0 + r + 3, vl);
        }
        for (; r < cog; ++r) {
            const int8_t *w0 = w + r * k;
            vint32m4_t c0 = seed(bias, r, vl);
            const int16_t *row = b0;
            for (int32_t t = 0; t < rows; ++t, row += wp, w0 += kwn)
                for (int32_t kw = 0; kw < kwn; ++kw)
                    c0 = __riscv_vwmacc_vx_i32m4(
                        c0, w0[kw], __riscv_vlse16_v_i16m2(row + kw * dw, bstride, vl), vl);
            mf_s8_rq_store_rvv(y + r * p_out + ow0, c0, &d->rq, ch0 + r, vl);
        }
        ow0 += (int32_t)vl;
    }
}

static void conv_band(const int8_t *x, const int8_t *w, const int32_t *bias, int8_t *y,
                      const mf_conv2d_s8_desc *d, int16_t *band)
{
    const int32_t cig = d->c_in / d->groups, cog = d->c_out / d->groups;
    const int32_t k = cig * d->k_h * d->k_w, wp = mf_s8_dw_wp(d);
    const int32_t hw_in = d->h_in * d->w_in, p_out = d->h_out * d->w_out;
    put_zp(band, cig * d->k_h * wp, (int16_t)d->in_zp);
    for (int32_t n = 0; n < d->n; ++n)
        for (int32_t g = 0; g < d->groups; ++g) {
            const int8_t *xg = x + (n * d->c_in + g * cig) * hw_in;
            int8_t *yg = y + (n * d->c_out + g * cog) * p_out;
            for (int32_t oh = 0; oh < d->h_out; ++oh) {
                fill_band(xg, d, cig, wp, oh, band);
                band_row(band, w + g * cog * k, bias ? bias + g * cog : 0, yg + oh * d->w_out, d,
                         cig, cog, wp, p_out, g * cog);
            }
        }
}

int mf_conv2d_s8_rvv(const int8_t *x, const int8_t *w, const int32_t *bias, int8_t *y,
                     const mf_conv2d_s8_desc *d, void *scratch)
{
    if (!mf_s8_conv_args_ok(x, w, y, d) || !scratch) return MF_EARG;
    if (mf_s8_conv_is_depthwise(d)) {
        depthwise(x, w, bias, y, d, (int16_t *)scratch);
        return MF_OK;
    }
    if (rvv_band(d)) {
        conv_band(x, w, bias, y, d, (int16_t *)scratch);
        return MF_OK;
    }
    const int32_t cig = d->c_in / d->groups, cog = d->c_out / d->groups;
    const int32_t k = cig * d->k_h * d->k_w;
    const int32_t hw_in = d->h_in * d->w_in, p_out = d->h_out * d->w_out;
    int16_t *panel = (int16_t *)scratch;
    for (int32_t n = 0; n < d->n; ++n)
        for (int32_t g = 0; g < d->groups; ++g) {
            const int8_t *xg = x + (n * d->c_in + g * cig) * hw_in;
            int8_t *yg = y + (n * d->c_out + g * cog) * p_out;
            for (int32_t p0 = 0; p0 < p_out; p0 += MF_S8_COLS_RVV) {
                const int32_t np = p_out - p0 < MF_S8_COLS_RVV ? p_out - p0 : MF_S8_COLS_RVV;
                fill_panel(xg, d, cig, p0, np, panel);
                mf_gemm_s8_rvv(w + g * cog * k, k, cog, panel, MF_S8_COLS_RVV, np,
                               bias ? bias + g * cog : 0, yg + p0, p_out, &d->rq, g * cog);
            }
        }
    return MF_OK;
}
#endif
