/* The int8 table lookup (mf_lut_s8, mf_int8_vit.h) for Cortex-M4/M7: the DSP extension has no
 * byte gather, so four elements per step from one word load, four table loads and one word
 * store; the tail one at a time. Bit-exact with _ref. */
#include "mf_int8_vit.h"

#if defined(__ARM_FEATURE_DSP)
#include <string.h>

int mf_lut_s8_dsp(const int8_t *x, const int8_t *lut, int8_t *y, int32_t n)
{
    if (!x || !lut || !y) return MF_EARG;
    if (n < 0) return MF_ESHAPE;
    const uint8_t *t = (const uint8_t *)lut + 128;
    int32_t j = 0;
    for (; j + 4 <= n; j += 4) { /* y may be x: the word is loaded before it is stored */
        uint32_t v;
        memcpy(&v, x + j, 4);
        const uint32_t o = (uint32_t)t[(int8_t)v] | (uint32_t)t[(int8_t)(v >> 8)] << 8 |
                           (uint32_t)t[(int8_t)(v >> 16)] << 16 | (uint32_t)t[(int8_t)(v >> 24)] << 24;
        memcpy(y + j, &o, 4);
    }
    for (; j < n; ++j) y[j] = lut[x[j] + 128];
    return MF_OK;
}
#endif
