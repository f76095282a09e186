/* Integer-only LayerNorm for RISC-V vector (mf_int8_vit.h): the row's sum and sum of
 * squares of x - in_zp (vwsub to int16, vwredsum and vwmul + vwredsum to int32; vsetvl takes
 * the tail), then the reference's per-row tail (qnorm_s8_row.inc): bit-exact with _ref. */
#include "mf_int8_vit.h"

#if defined(__riscv_vector)
#include <riscv_vector.h>

#include "qnorm_s8_row.inc"

int mf_layernorm_s8_rvv(const int8_t *x, const int32_t *gamma, const int32_t *beta, int8_t *y,
                        const mf_layernorm_s8_desc *d)
{
    const int st = mf_layernorm_s8_args(x, gamma, beta, y, d);
    if (st != MF_OK) return st;
    for (int32_t r = 0; r < d->rows; ++r) {
        const int8_t *xr = x + (size_t)r * d->cols;
        vint32m1_t s = __riscv_vmv_s_x_i32m1(0, 1), sq = __riscv_vmv_s_x_i32m1(0, 1);
        for (int32_t j = 0, n = d->cols; n > 0;) {
            const size_t vl = __riscv_vsetvl_e8mf2((size_t)n);
            const vint16m1_t v = __riscv_vwsub_vx_i16m1(__riscv_vle8_v_i8mf2(xr + j, vl), (int8_t)0, vl);
            const vint16m1_t c = __riscv_vsub_vx_i16m1(v, (int16_t)d->in_zp, vl);
            s = __riscv_vwredsum_vs_i16m1_i32m1(c, s, vl);
            sq = __riscv_vredsum_vs_i32m2_i32m1(__riscv_vwmul_vv_i32m2(c, c, vl), sq, vl);
            j += (int32_t)vl;
            n -= (int32_t)vl;
        }
        mf_layernorm_s8_row(xr, gamma, beta, y + (size_t)r * d->cols, d, __riscv_vmv_x_s_i32m1_i32(s),
                            __riscv_vmv_x_s_i32m1_i32(sq));
    }
    return MF_OK;
}
#endif
