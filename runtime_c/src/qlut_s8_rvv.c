/* The int8 table lookup (mf_lut_s8, mf_int8_vit.h) for RISC-V vector: up to 4 * VLEN/8
 * elements per step (e8, LMUL 4), the table read by an indexed byte load (vluxei8) at
 * offsets x + 128 (x's bits with the top one flipped); the tail by vsetvl. Bit-exact with
 * _ref. */
#include "mf_int8_vit.h"

#if defined(__riscv_vector)
#include <riscv_vector.h>

int mf_lut_s8_rvv(const int8_t *x, const int8_t *lut, int8_t *y, int32_t n)
{
    if (!x || !lut || !y) return MF_EARG;
    if (n < 0) return MF_ESHAPE;
    for (int32_t j = 0; j < n;) { /* y may be x: a vector is loaded before it is stored */
        const size_t vl = __riscv_vsetvl_e8m4((size_t)(n - j));
        const vuint8m4_t off = __riscv_vxor_vx_u8m4(__riscv_vle8_v_u8m4((const uint8_t *)x + j, vl), 0x80, vl);
        __riscv_vse8_v_i8m4(y + j, __riscv_vluxei8_v_i8m4(lut, off, vl), vl);
        j += (int32_t)vl;
    }
    return MF_OK;
}
#endif
