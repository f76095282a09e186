/* A 256-entry table for an element-wise function of one int8 tensor (mf_int8_vit.h): the
 * table is the float op evaluated on every input value at compile time, so the result is
 * exact with respect to the QDQ model's DequantizeLinear -> op -> QuantizeLinear. */
#include "mf_int8_vit.h"

int mf_lut_s8_ref(const int8_t *x, const int8_t *lut, int8_t *y, int32_t n)
{
    if (!x || !lut || !y) return MF_EARG;
    if (n < 0) return MF_ESHAPE;
    for (int32_t j = 0; j < n; ++j) y[j] = lut[x[j] + 128];
    return MF_OK;
}
