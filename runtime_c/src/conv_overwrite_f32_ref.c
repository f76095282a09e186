/* Depthwise and pointwise convolution that stay correct when y == x (mf_conv_inplace.h), so
 * a DS-CNN block runs in one activation buffer: the shape rules and scratch sizes (both
 * dtypes), and the FP32 driver and reference (body: conv_overwrite_ref.inc). */
#include "mf_conv_inplace.h"

int mf_conv2d_overwrite_kind(const mf_conv2d_desc *d)
{
    if (d->groups < 1) return MF_OVERWRITE_NONE;
    if (mf_conv2d_is_depthwise(d) && d->h_out * d->w_out <= d->h_in * d->w_in)
        return MF_OVERWRITE_DEPTHWISE;
    /* With c_out > c_in, batch 0's extra channels would land on batch 1's unread input. */
    if (mf_conv2d_is_pointwise(d) && d->groups == 1 && (d->c_out <= d->c_in || d->n == 1))
        return MF_OVERWRITE_POINTWISE;
    return MF_OVERWRITE_NONE;
}

int32_t mf_conv2d_overwrite_scratch_bytes(const mf_conv2d_desc *d, int32_t elem_bytes, int32_t cols)
{
    switch (mf_conv2d_overwrite_kind(d)) {
    case MF_OVERWRITE_DEPTHWISE: return d->h_out * d->w_out * elem_bytes;
    case MF_OVERWRITE_POINTWISE: return d->c_out * cols * elem_bytes;
    default: return 0;
    }
}

#define MF_T float
#define MF_REF(op) op##_f32_ref
#define MF_SFX(op) op##_f32
#define MF_CONV_FN mf_conv_f32_fn
#define MF_PANEL_FN mf_panel_f32_fn
#include "conv_overwrite_ref.inc"
