/* Reductions over arbitrary axes, FP16 reference (FP32 arithmetic, see mf_f16.h). */
#include <math.h>

#include "mf_f16.h"

static int32_t count_of(int32_t rank, const int32_t *shape)
{
    int32_t n = 1;
    for (int32_t i = 0; i < rank; ++i) n *= shape[i];
    return n;
}

static int32_t offset_of(int32_t flat, int32_t rank, const int32_t *shape, const int32_t *stride)
{ /* row-major flat index -> strided offset */
    int32_t off = 0;
    for (int32_t i = rank - 1; i >= 0; --i) {
        off += (flat % shape[i]) * stride[i];
        flat /= shape[i];
    }
    return off;
}

int mf_reduce_f16_ref(const mf_f16 *x, mf_f16 *y, const mf_reduce_desc *d)
{
    if (!x || !y || !d || d->out_rank < 0 || d->out_rank > MF_MAX_RANK || d->red_rank < 0 ||
        d->red_rank > MF_MAX_RANK)
        return MF_EARG;
    const int32_t n_out = count_of(d->out_rank, d->out_shape);
    const int32_t n_red = count_of(d->red_rank, d->red_shape);
    for (int32_t o = 0; o < n_out; ++o) {
        const mf_f16 *px = x + offset_of(o, d->out_rank, d->out_shape, d->out_stride);
        float acc;
        switch (d->op) {
        case MF_RED_MAX: acc = -INFINITY; break;
        case MF_RED_MIN: acc = INFINITY; break;
        case MF_RED_PROD: acc = 1.0f; break;
        default: acc = 0.0f; break;
        }
        for (int32_t r = 0; r < n_red; ++r) {
            const float v = px[offset_of(r, d->red_rank, d->red_shape, d->red_stride)];
            switch (d->op) {
            case MF_RED_MAX: acc = v > acc ? v : acc; break;
            case MF_RED_MIN: acc = v < acc ? v : acc; break;
            case MF_RED_PROD: acc *= v; break;
            case MF_RED_SUM_SQUARE:
            case MF_RED_L2: acc += v * v; break;
            case MF_RED_L1: acc += fabsf(v); break;
            default: acc += v; break;
            }
        }
        if (d->op == MF_RED_MEAN) acc /= (float)n_red;
        if (d->op == MF_RED_L2) acc = sqrtf(acc);
        y[o] = acc;
    }
    return MF_OK;
}
