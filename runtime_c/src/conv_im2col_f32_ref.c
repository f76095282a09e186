/* im2col convolution driver shared by the FP32 kernels of every ISA (see mf_fast.h): the
 * ISA only supplies the GEMM panel micro-kernel. With mf_gemm_panel_f32_ref it is a plain
 * scalar kernel, which the tests use to check the driver itself on the host. The shape
 * helpers below serve every element type; the rest is conv_im2col_ref.inc. */
#include "mf_fast.h"

int mf_conv2d_is_depthwise(const mf_conv2d_desc *d)
{
    return d->groups == d->c_in && d->groups == d->c_out;
}

int mf_conv2d_is_pointwise(const mf_conv2d_desc *d)
{
    return d->k_h == 1 && d->k_w == 1 && d->stride_h == 1 && d->stride_w == 1 &&
           d->pad_top == 0 && d->pad_left == 0 && d->h_out == d->h_in && d->w_out == d->w_in;
}

int32_t mf_conv2d_scratch_bytes(const mf_conv2d_desc *d, int32_t elem_bytes, int32_t cols)
{
    if (d->groups < 1 || mf_conv2d_is_depthwise(d) || mf_conv2d_is_pointwise(d)) return 0;
    return d->c_in / d->groups * d->k_h * d->k_w * cols * elem_bytes;
}

#define MF_T float
#define MF_REF(op) op##_f32_ref
#define MF_SFX(op) op##_f32
#define MF_PANEL_FN mf_panel_f32_fn
#include "conv_im2col_ref.inc"
