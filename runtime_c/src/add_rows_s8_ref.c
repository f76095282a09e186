/* int8 add over strided rows (mf_int8.h). With the compile-time input terms, an element
 * is two table loads, one add and the output requantisation (the path ResNet's residual
 * adds take); without them each row is one mf_add_s8_ref call. Both are the add's own
 * arithmetic, bit for bit. */
#include "mf_int8_simd.h"

static void rows_lut(const int8_t *a, const int8_t *b, int8_t *y, const mf_add_rows_s8_desc *d)
{
    const int32_t *at = d->a_term + 128, *bt = d->b_term + 128, n = d->add.n;
    const mf_s8_rq_ch q = mf_s8_rq_prepare(&d->add.rq, 0);
    const int32_t mult = q.mult, zp = q.zp, lo = q.lo, hi = q.hi;
    for (int32_t r = 0; r < d->rows; ++r, a += d->a_stride, b += d->b_stride, y += d->y_stride) {
        if (q.rs > 32) {
            /* mf_s8_rq_rows' case: the rounding only reaches the product's high word */
            const int32_t sh = q.rs - 32, half = 1 << (q.rs - 33);
            for (int32_t i = 0; i < n; ++i) {
                const int32_t acc = at[a[i]] + bt[b[i]];
                const int32_t v = zp + (((int32_t)(((int64_t)acc * mult) >> 32) + half) >> sh);
                y[i] = (int8_t)(v < lo ? lo : (v > hi ? hi : v));
            }
        } else {
            for (int32_t i = 0; i < n; ++i) y[i] = mf_s8_rq_apply(at[a[i]] + bt[b[i]], &q);
        }
    }
}

int mf_add_rows_s8_ref(const int8_t *a, const int8_t *b, int8_t *y, const mf_add_rows_s8_desc *d)
{
    if (!a || !b || !y || !d || !d->add.rq.mult || !d->add.rq.shift) return MF_EARG;
    if (d->rows < 0 || d->add.n < 0 || d->a_stride < 0 || d->b_stride < 0 || d->y_stride < 0)
        return MF_ESHAPE;
    if (d->a_term && d->b_term) {
        rows_lut(a, b, y, d);
        return MF_OK;
    }
    for (int32_t r = 0; r < d->rows; ++r) {
        const int st = mf_add_s8_ref(a + (size_t)r * d->a_stride, b + (size_t)r * d->b_stride,
                                     y + (size_t)r * d->y_stride, &d->add);
        if (st != MF_OK) return st;
    }
    return MF_OK;
}
