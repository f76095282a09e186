/* int8 product of two activations (mf_mul_s8, mf_int8_vit.h) for RISC-V vector: the int16
 * differences multiplied into int32 (vwmul), requantised by one vmulh and one vssra
 * rounding to nearest up (qrq_s8.inc), e32 at LMUL 4; the tail by vsetvl. Bit-exact with
 * _ref; the reference runs where the prepared form does not apply. */
#include "mf_int8_vit.h"

#if defined(__riscv_vector)
#include <riscv_vector.h>

#include "qrq_s8.inc"

int mf_mul_s8_rvv(const int8_t *a, const int8_t *b, int8_t *y, const mf_mul_s8_desc *d)
{
    if (!a || !b || !y || !d || !d->rq.mult || !d->rq.shift) return MF_EARG;
    if (d->n < 0) return MF_ESHAPE;
    mf_qrq o;
    if (!mf_mul_s8_prepare(d, &o)) return mf_mul_s8_ref(a, b, y, d);
    for (int32_t j = 0; j < d->n;) { /* y may be a or b: both are loaded before the store */
        const size_t vl = __riscv_vsetvl_e32m4((size_t)(d->n - j));
        const vint16m2_t va = __riscv_vsub_vx_i16m2(__riscv_vsext_vf2_i16m2(__riscv_vle8_v_i8m1(a + j, vl), vl),
                                                    (int16_t)d->a_zp, vl);
        const vint16m2_t vb = __riscv_vsub_vx_i16m2(__riscv_vsext_vf2_i16m2(__riscv_vle8_v_i8m1(b + j, vl), vl),
                                                    (int16_t)d->b_zp, vl);
        const vint32m4_t prod = __riscv_vsll_vx_i32m4(__riscv_vwmul_vv_i32m4(va, vb, vl), (size_t)o.pre, vl);
        vint32m4_t v = __riscv_vssra_vx_i32m4(__riscv_vmulh_vx_i32m4(prod, o.mult, vl), (size_t)o.post, __RISCV_VXRM_RNU, vl);
        v = __riscv_vadd_vx_i32m4(v, d->rq.out_zp, vl);
        v = __riscv_vmin_vx_i32m4(__riscv_vmax_vx_i32m4(v, d->rq.act_min, vl), d->rq.act_max, vl);
        __riscv_vse8_v_i8m1(y + j, __riscv_vncvt_x_x_w_i8m1(__riscv_vncvt_x_x_w_i16m2(v, vl), vl), vl);
        j += (int32_t)vl;
    }
    return MF_OK;
}
#endif
