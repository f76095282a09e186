/* Convolution backward, FP32 reference (body: conv_bwd_ref.inc). */
#define MF_T float
#define MF_REF(op) op##_f32_ref
#include "conv_bwd_ref.inc"

int32_t mf_conv2d_bwd_scratch_bytes(const mf_conv2d_desc *d, int32_t elem_bytes, int32_t cols)
{
    if (!d || d->groups < 1) return 0;
    const int depthwise = d->groups > 1 && d->groups == d->c_in && d->groups == d->c_out;
    if (depthwise) return 0; /* direct loops, no panel */
    return (d->c_in / d->groups) * d->k_h * d->k_w * cols * elem_bytes;
}
