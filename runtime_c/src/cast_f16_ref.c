/* Conversions at the model boundary: float32 inputs/outputs <-> FP16 activations. */
#include "mf_f16.h"

/* y may overlay x (same base): element i lands on bytes already read. */
int mf_cast_f32_to_f16_ref(const float *x, mf_f16 *y, int32_t n)
{
    if (!x || !y || n < 0) return MF_EARG;
    for (int32_t i = 0; i < n; ++i) y[i] = (mf_f16)x[i];
    return MF_OK;
}

int mf_cast_f16_to_f32_ref(const mf_f16 *x, float *y, int32_t n)
{
    if (!x || !y || n < 0) return MF_EARG;
    for (int32_t i = 0; i < n; ++i) y[i] = (float)x[i];
    return MF_OK;
}
