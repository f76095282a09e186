/* The int8 table lookup (mf_lut_s8, mf_int8_vit.h) for Helium: 16 elements per step, the
 * table read by a VLDRB gather at byte offsets x + 128 (x's bits with the top one flipped);
 * the tail by VCTP8 predication. Bit-exact with _ref. */
#include "mf_int8_vit.h"

#if defined(__ARM_FEATURE_MVE)
#include <arm_mve.h>

int mf_lut_s8_mve(const int8_t *x, const int8_t *lut, int8_t *y, int32_t n)
{
    if (!x || !lut || !y) return MF_EARG;
    if (n < 0) return MF_ESHAPE;
    for (int32_t j = 0; j < n; j += 16) { /* y may be x: a vector is loaded before it is stored */
        const mve_pred16_t p = vctp8q((uint32_t)(n - j));
        const uint8x16_t off = veorq_u8(vldrbq_z_u8((const uint8_t *)x + j, p), vdupq_n_u8(0x80));
        vstrbq_p_s8(y + j, vldrbq_gather_offset_z_s8(lut, off, p), p);
    }
    return MF_OK;
}
#endif
