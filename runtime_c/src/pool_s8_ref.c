/* int8 average and max pooling, reference. */
#include "mf_int8.h"

static int pool_args_ok(const int8_t *x, const int8_t *y, const mf_pool_s8_desc *d)
{
    return x && y && d && d->rq.mult && d->rq.shift && d->k_h > 0 && d->k_w > 0 && d->stride_h > 0 &&
           d->stride_w > 0;
}

int mf_avgpool_s8_ref(const int8_t *x, int8_t *y, const mf_pool_s8_desc *d)
{
    if (!pool_args_ok(x, y, d)) return MF_EARG;
    for (int32_t p = 0; p < d->n * d->c; ++p) {
        const int8_t *xp = x + (size_t)p * d->h_in * d->w_in;
        int8_t *yp = y + (size_t)p * d->h_out * d->w_out;
        for (int32_t oy = 0; oy < d->h_out; ++oy) {
            for (int32_t ox = 0; ox < d->w_out; ++ox) {
                int32_t acc = 0; /* padding reads in_zp: adds 0 */
                for (int32_t ky = 0; ky < d->k_h; ++ky) {
                    const int32_t iy = oy * d->stride_h - d->pad_top + ky;
                    if (iy < 0 || iy >= d->h_in) continue;
                    for (int32_t kx = 0; kx < d->k_w; ++kx) {
                        const int32_t ix = ox * d->stride_w - d->pad_left + kx;
                        if (ix >= 0 && ix < d->w_in) acc += xp[iy * d->w_in + ix] - d->in_zp;
                    }
                }
                /* ties to even, as QuantizeLinear of the float average (mf_int8.h) */
                yp[oy * d->w_out + ox] = mf_clamp_s8(
                    d->rq.out_zp + mf_requant_even(acc, d->rq.mult[0], d->rq.shift[0]), d->rq.act_min, d->rq.act_max);
            }
        }
    }
    return MF_OK;
}

int mf_maxpool_s8_ref(const int8_t *x, int8_t *y, const mf_pool_s8_desc *d)
{
    if (!pool_args_ok(x, y, d)) return MF_EARG;
    for (int32_t p = 0; p < d->n * d->c; ++p) {
        const int8_t *xp = x + (size_t)p * d->h_in * d->w_in;
        int8_t *yp = y + (size_t)p * d->h_out * d->w_out;
        for (int32_t oy = 0; oy < d->h_out; ++oy) {
            for (int32_t ox = 0; ox < d->w_out; ++ox) {
                int32_t m = -129; /* below any int8: the padding never wins */
                for (int32_t ky = 0; ky < d->k_h; ++ky) {
                    const int32_t iy = oy * d->stride_h - d->pad_top + ky;
                    if (iy < 0 || iy >= d->h_in) continue;
                    for (int32_t kx = 0; kx < d->k_w; ++kx) {
                        const int32_t ix = ox * d->stride_w - d->pad_left + kx;
                        if (ix >= 0 && ix < d->w_in && xp[iy * d->w_in + ix] > m) m = xp[iy * d->w_in + ix];
                    }
                }
                yp[oy * d->w_out + ox] = mf_clamp_s8(
                    d->rq.out_zp + mf_requant(m - d->in_zp, d->rq.mult[0], d->rq.shift[0]), d->rq.act_min,
                    d->rq.act_max);
            }
        }
    }
    return MF_OK;
}
