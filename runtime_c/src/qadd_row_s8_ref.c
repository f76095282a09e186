/* int8 Add of a constant row broadcast over the rows of an activation (a QDQ MatMul's bias
 * Add, as onnxruntime's quantizer writes it): mf_add_s8_ref row by row, so the constant
 * stays one row in flash instead of a broadcast copy. */
#include "mf_int8_vit.h"

int mf_add_row_s8_ref(const int8_t *x, const int8_t *row, int8_t *y, int32_t rows, const mf_add_s8_desc *d)
{
    if (!x || !row || !y || !d) return MF_EARG;
    if (rows < 0 || d->n < 1) return MF_ESHAPE;
    for (int32_t r = 0; r < rows; ++r) {
        const int st = mf_add_s8_ref(x + (size_t)r * d->n, row, y + (size_t)r * d->n, d);
        if (st != MF_OK) return st;
    }
    return MF_OK;
}
