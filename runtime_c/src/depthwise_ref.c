/* The reference twins of the depthwise kernels (mf_depthwise.h): the reference convolution out
 * of place, the reference overwrite convolution (plane copy) when y overlaps x. */
#include "mf_conv_inplace.h"
#include "mf_depthwise.h"

static int overlaps(const void *x, int32_t nx, const void *y, int32_t ny)
{
    const uintptr_t xs = (uintptr_t)x, ys = (uintptr_t)y;
    return ys < xs + (uintptr_t)nx && xs < ys + (uintptr_t)ny;
}

int mf_depthwise_f32_ref(const float *x, const float *w, const float *bias, float *y,
                         const mf_conv2d_desc *d, float *scratch)
{
    if (!x || !w || !y || !d) return MF_EARG;
    if (!mf_conv2d_is_depthwise(d)) return MF_ESHAPE;
    const int32_t nx = d->n * d->c_in * d->h_in * d->w_in, ny = d->n * d->c_out * d->h_out * d->w_out;
    if (!overlaps(x, nx * 4, y, ny * 4)) return mf_conv2d_f32_ref(x, w, bias, y, d);
    return scratch ? mf_conv2d_overwrite_f32_ref(x, w, bias, y, scratch, d) : MF_EARG;
}

#if defined(__FLT16_MAX__)
int mf_depthwise_f16_ref(const mf_f16 *x, const mf_f16 *w, const mf_f16 *bias, mf_f16 *y,
                         const mf_conv2d_desc *d, mf_f16 *scratch)
{
    if (!x || !w || !y || !d) return MF_EARG;
    if (!mf_conv2d_is_depthwise(d)) return MF_ESHAPE;
    const int32_t nx = d->n * d->c_in * d->h_in * d->w_in, ny = d->n * d->c_out * d->h_out * d->w_out;
    if (!overlaps(x, nx * 2, y, ny * 2)) return mf_conv2d_f16_ref(x, w, bias, y, d);
    return scratch ? mf_conv2d_overwrite_f16_ref(x, w, bias, y, scratch, d) : MF_EARG;
}
#endif
