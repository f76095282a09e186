/* int8 convolution for RISC-V vector (RVV 1.0): im2col into an int16 panel [k][cols] of
 * MF_S8_COLS_RVV output pixels (in NCHW each panel row is a strided run of an input row, so
 * it is built with vector loads: vle8/vlse8, vsext to int16, vse16), then the outer-product
 * GEMM of gemm_s8_rvv.c over the group's output channels. Regular, pointwise and depthwise
 * (groups == c_in == c_out: one channel, k_h * k_w panel rows) convolutions all run this way;
 * padding reads in_zp (mf_int8.h). */
#include "mf_int8_simd.h"

int32_t mf_conv2d_s8_rvv_scratch_bytes(const mf_conv2d_s8_desc *d)
{
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

/* Panel row by panel row: row (ci, kh, kw) over pixels [p0, p0 + np) is, per output row
 * those pixels touch, in_zp where the tap is in the padding and x[ci][ih][iw0 + t * s]
 * between. */
static void fill_panel(const int8_t *xg, const mf_conv2d_s8_desc *d, int32_t cig, int32_t p0,
                       int32_t np, int16_t *panel)
{
    const int32_t hw = d->h_in * d->w_in, sw = d->stride_w;
    const int16_t zp = (int16_t)d->in_zp;
    const int32_t oh0 = p0 / d->w_out, ow0 = p0 % d->w_out;
    int16_t *dst = panel;
    for (int32_t ci = 0; ci < cig; ++ci)
        for (int32_t kh = 0; kh < d->k_h; ++kh)
            for (int32_t kw = 0; kw < d->k_w; ++kw, dst += MF_S8_COLS_RVV) {
                int32_t j = 0, oh = oh0, ow = ow0;
                while (j < np) {
                    const int32_t seg = np - j < d->w_out - ow ? np - j : d->w_out - ow;
                    const int32_t ih = oh * d->stride_h - d->pad_top + kh * d->dil_h;
                    if (ih < 0 || ih >= d->h_in) {
                        put_zp(dst + j, seg, zp);
                    } else {
                        const int32_t iw = ow * sw - d->pad_left + kw * d->dil_w;
                        int32_t lo = iw >= 0 ? 0 : (-iw + sw - 1) / sw;
                        int32_t hi = iw < d->w_in ? (d->w_in - 1 - iw) / sw + 1 : 0;
                        if (lo > seg) lo = seg;
                        if (hi > seg) hi = seg;
                        if (hi < lo) hi = lo;
                        put_zp(dst + j, lo, zp);
                        put_x(dst + j + lo, xg + ci * hw + ih * d->w_in + iw + lo * sw, sw, hi - lo);
                        put_zp(dst + j + hi, seg - hi, zp);
                    }
                    j += seg;
                    ow = 0;
                    ++oh;
                }
            }
}

int mf_conv2d_s8_rvv(const int8_t *x, const int8_t *w, const int32_t *bias, int8_t *y,
                     const mf_conv2d_s8_desc *d, void *scratch)
{
    if (!mf_s8_conv_args_ok(x, w, y, d) || !scratch) return MF_EARG;
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
