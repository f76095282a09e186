/* The overwrite-safe depthwise/pointwise convolution (mf_conv_inplace.h) on the RVV FP16
 * kernels: the vector depthwise kernel (depthwise_f16_rvv.c: narrow 3x3 "same" planes are
 * written over themselves, one vector behind their loads; other planes go through a plane
 * copy in the scratch where a channel's output would land on unread input), the 8-row vfmacc panel of
 * gemm_f16_rvv.c per pointwise tile of MF_CONV_OVERWRITE_COLS_RVV columns (one full
 * e16/LMUL=2 vector at VLEN=128, as the non-overwriting conv's chunks). Copies are vsetvl strips with no scalar tail. Scratch:
 * mf_conv2d_overwrite_scratch_bytes_rvv (a padded plane or a tile). */
#include "mf_conv_inplace.h"
#include "mf_depthwise.h"

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
    /* the vector depthwise kernel itself: its channels land on consumed input, on their own
     * plane (narrow 3x3 "same"), or go through a plane copy in the scratch (at least
     * h_out x w_out), at the out-of-place speed */
    case MF_OVERWRITE_DEPTHWISE: return mf_depthwise_f16_rvv(x, w, bias, y, d, scratch);
    case MF_OVERWRITE_POINTWISE: pointwise(x, w, bias, y, scratch, d); return MF_OK;
    default: return MF_ESHAPE;
    }
}
#endif
