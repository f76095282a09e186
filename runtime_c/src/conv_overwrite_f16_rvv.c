/* The overwrite-safe depthwise/pointwise convolution (mf_conv_inplace.h) on the RVV FP16
 * kernels: the vector depthwise conv of conv_f16_rvv.c per channel over a zero-padded copy
 * of it, the 8-row vfmacc panel of gemm_f16_rvv.c per pointwise tile of
 * MF_CONV_OVERWRITE_COLS_RVV columns (one full e16/LMUL=2 vector at VLEN=128, as the
 * non-overwriting conv's chunks). Copies are vsetvl strips with no scalar tail. Scratch:
 * mf_conv2d_overwrite_scratch_bytes_rvv (a padded plane or a tile). */
#include "mf_conv_inplace.h"

int32_t mf_conv2d_overwrite_scratch_bytes_rvv(const mf_conv2d_desc *d, int32_t elem_bytes)
{
    switch (mf_conv2d_overwrite_kind(d)) {
    case MF_OVERWRITE_DEPTHWISE:
        return ((d->h_out - 1) * d->stride_h + (d->k_h - 1) * d->dil_h + 1) *
               ((d->w_out - 1) * d->stride_w + (d->k_w - 1) * d->dil_w + 1) * elem_bytes;
    case MF_OVERWRITE_POINTWISE: return d->c_out * MF_CONV_OVERWRITE_COLS_RVV * elem_bytes;
    default: return 0;
    }
}

#if defined(__riscv_vector)
#include <riscv_vector.h>

#include "mf_elementwise.h"

/* A vector instruction costs its LMUL whatever vl is (LMUL-weighted counts), so the register
 * group matches the run: LMUL 8 to clear a plane, 2 for rows of at most 16. */
static void zero(mf_f16 *dst, int32_t n)
{
    const vfloat16m8_t z = __riscv_vfmv_v_f_f16m8((_Float16)0.0f, __riscv_vsetvlmax_e16m8());
    while (n > 0) {
        const size_t vl = __riscv_vsetvl_e16m8((size_t)n);
        __riscv_vse16_v_f16m8((_Float16 *)dst, z, vl);
        dst += vl;
        n -= (int32_t)vl;
    }
}

static void copy_row(mf_f16 *dst, const mf_f16 *src, int32_t n)
{
    while (n > 0) {
        const size_t vl = __riscv_vsetvl_e16m2((size_t)n);
        __riscv_vse16_v_f16m2((_Float16 *)dst, __riscv_vle16_v_f16m2((const _Float16 *)src, vl), vl);
        dst += vl;
        src += vl;
        n -= (int32_t)vl;
    }
}

/* Channel c is copied into a zero-padded plane of scratch, then convolved from it straight
 * into its output slot: that slot only covers bytes of input channels <= c, all consumed by
 * then. Besides making the conv safe over its input, the padding removes the scalar edge
 * pixels of the vector depthwise (2 of 5 columns on a 25x5 DS-CNN map, most of its cost). */
static int depthwise(const mf_f16 *x, const mf_f16 *w, const mf_f16 *bias, mf_f16 *y,
                     mf_f16 *plane, const mf_conv2d_desc *d)
{
    mf_conv2d_desc one = *d;
    one.n = 1;
    one.c_in = one.c_out = one.groups = 1;
    one.h_in = (d->h_out - 1) * d->stride_h + (d->k_h - 1) * d->dil_h + 1;
    one.w_in = (d->w_out - 1) * d->stride_w + (d->k_w - 1) * d->dil_w + 1;
    one.pad_top = one.pad_left = 0;
    const int32_t hw_in = d->h_in * d->w_in, hw_out = d->h_out * d->w_out, kk = d->k_h * d->k_w;
    /* input rows and columns that land inside the padded plane */
    const int32_t rows = d->h_in < one.h_in - d->pad_top ? d->h_in : one.h_in - d->pad_top;
    const int32_t cols = d->w_in < one.w_in - d->pad_left ? d->w_in : one.w_in - d->pad_left;
    for (int32_t nc = 0; nc < d->n * d->c_out; ++nc) {
        const int32_t c = nc % d->c_out;
        const mf_f16 *xc = x + nc * hw_in;
        zero(plane, one.h_in * one.w_in);
        for (int32_t ih = 0; ih < rows; ++ih)
            copy_row(plane + (ih + d->pad_top) * one.w_in + d->pad_left, xc + ih * d->w_in, cols);
        const int status = mf_conv2d_f16_rvv(plane, w + c * kk, bias ? bias + c : NULL, y + nc * hw_out, &one, NULL);
        if (status != MF_OK) return status;
    }
    return MF_OK;
}

/* Columns [p0, p0 + P) of every channel into a c_out x P tile, then back over those columns:
 * later tiles read only later columns, which nothing has written yet. */
static void pointwise(const mf_f16 *x, const mf_f16 *w, const mf_f16 *bias, mf_f16 *y,
                      mf_f16 *tile, const mf_conv2d_desc *d)
{
    const int32_t hw = d->h_out * d->w_out, cols = MF_CONV_OVERWRITE_COLS_RVV;
    const int relu = d->act.kind == MF_ACT_RELU;
    const int fused = relu || d->act.kind == MF_ACT_NONE;
    for (int32_t n = 0; n < d->n; ++n) {
        const mf_f16 *xn = x + n * d->c_in * hw;
        mf_f16 *yn = y + n * d->c_out * hw;
        for (int32_t p0 = 0; p0 < hw; p0 += cols) {
            const int32_t nc = hw - p0 < cols ? hw - p0 : cols;
            mf_gemm_panel_f16_rvv(w, d->c_in, xn + p0, hw, tile, cols, d->c_out, nc, d->c_in, bias, relu);
            for (int32_t oc = 0; oc < d->c_out; ++oc) {
                if (!fused) mf_bias_act_f16(tile + oc * cols, nc, 0.0f, &d->act);
                copy_row(yn + oc * hw + p0, tile + oc * cols, nc);
            }
        }
    }
}

int mf_conv2d_overwrite_f16_rvv(const mf_f16 *x, const mf_f16 *w, const mf_f16 *bias, mf_f16 *y,
                                mf_f16 *scratch, const mf_conv2d_desc *d)
{
    if (!x || !w || !y || !scratch || !d) return MF_EARG;
    switch (mf_conv2d_overwrite_kind(d)) {
    case MF_OVERWRITE_DEPTHWISE: return depthwise(x, w, bias, y, scratch, d);
    case MF_OVERWRITE_POINTWISE: pointwise(x, w, bias, y, scratch, d); return MF_OK;
    default: return MF_ESHAPE;
    }
}
#endif
