/* int8 add over strided rows (mf_int8.h): each row is one mf_add_s8_ref call, so the
 * arithmetic is the add's own and the two stay bit-exact. */
#include "mf_int8.h"

int mf_add_rows_s8_ref(const int8_t *a, const int8_t *b, int8_t *y, const mf_add_rows_s8_desc *d)
{
    if (!a || !b || !y || !d) return MF_EARG;
    if (d->rows < 0 || d->a_stride < 0 || d->b_stride < 0 || d->y_stride < 0) return MF_ESHAPE;
    for (int32_t r = 0; r < d->rows; ++r) {
        const int st = mf_add_s8_ref(a + (size_t)r * d->a_stride, b + (size_t)r * d->b_stride,
                                     y + (size_t)r * d->y_stride, &d->add);
        if (st != MF_OK) return st;
    }
    return MF_OK;
}
