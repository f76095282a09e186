/* int8 pointwise convolution whose output may overwrite its input (mf_int8.h). Every output
 * goes through scratch first, so the result is bit-exact with mf_conv2d_s8_ref whether or
 * not y is x. */
#include <string.h>

#include "mf_int8.h"

int32_t mf_conv2d_overwrite_s8_pointwise(const mf_conv2d_s8_desc *d)
{
    return d->k_h == 1 && d->k_w == 1 && d->stride_h == 1 && d->stride_w == 1 && d->pad_top == 0 &&
           d->pad_left == 0 && d->h_in == d->h_out && d->w_in == d->w_out && d->groups == 1 &&
           (d->c_out <= d->c_in || d->n == 1);
}

int32_t mf_conv2d_overwrite_s8_ref_scratch_bytes(const mf_conv2d_s8_desc *d)
{
    return mf_conv2d_overwrite_s8_pointwise(d) ? d->c_out * MF_CONV_OVERWRITE_S8_COLS : 0;
}

int mf_conv2d_overwrite_s8_ref(const int8_t *x, const int8_t *w, const int32_t *bias, int8_t *y,
                               const mf_conv2d_s8_desc *d, void *scratch)
{
    if (!x || !w || !y || !d || !scratch || !d->rq.mult || !d->rq.shift) return MF_EARG;
    if (!mf_conv2d_overwrite_s8_pointwise(d)) return MF_ESHAPE;
    int8_t *tile = (int8_t *)scratch;
    const int32_t hw = d->h_in * d->w_in;
    for (int32_t n = 0; n < d->n; ++n) {
        const int8_t *xn = x + (size_t)n * d->c_in * hw;
        int8_t *yn = y + (size_t)n * d->c_out * hw;
        for (int32_t p0 = 0; p0 < hw; p0 += MF_CONV_OVERWRITE_S8_COLS) {
            const int32_t cols = hw - p0 < MF_CONV_OVERWRITE_S8_COLS ? hw - p0 : MF_CONV_OVERWRITE_S8_COLS;
            for (int32_t oc = 0; oc < d->c_out; ++oc) {
                const int8_t *wo = w + (size_t)oc * d->c_in;
                const int32_t q = d->rq.per_channel ? oc : 0;
                for (int32_t j = 0; j < cols; ++j) {
                    int32_t acc = bias ? bias[oc] : 0;
                    for (int32_t ic = 0; ic < d->c_in; ++ic) acc += xn[(size_t)ic * hw + p0 + j] * wo[ic];
                    tile[oc * MF_CONV_OVERWRITE_S8_COLS + j] = mf_clamp_s8(
                        d->rq.out_zp + mf_requant(acc, d->rq.mult[q], d->rq.shift[q]), d->rq.act_min, d->rq.act_max);
                }
            }
            /* these pixels' inputs are consumed; y's rows for them lie over x rows of the
             * same pixels (c_out <= c_in) or beyond this batch's input (n == 1) */
            for (int32_t oc = 0; oc < d->c_out; ++oc)
                memcpy(yn + (size_t)oc * hw + p0, tile + oc * MF_CONV_OVERWRITE_S8_COLS, (size_t)cols);
        }
    }
    return MF_OK;
}
