/* int8 add over strided rows for RISC-V vector (the contract of mf_add_rows_s8_ref,
 * mf_int8.h): up to VLEN/8 elements per e32/LMUL=4 vector, each input's term gathered from
 * its compile-time table (vluxei32, byte offsets 4 * (value + 128)), summed, and requantised
 * with vmulh (the product's high word, floored) plus 2^(rs - 33) and an arithmetic shift by
 * rs - 32, which is mf_requant exactly when rs > 32 (the usual case). Without tables, or
 * with a larger scale, the reference runs. */
#include "mf_int8_simd.h"

#if defined(__riscv_vector)
#include <riscv_vector.h>

static inline vuint32m4_t offsets(const int8_t *p, size_t vl)
{
    const vint32m4_t v = __riscv_vsext_vf4_i32m4(__riscv_vle8_v_i8m1(p, vl), vl);
    return __riscv_vreinterpret_v_i32m4_u32m4(__riscv_vsll_vx_i32m4(__riscv_vadd_vx_i32m4(v, 128, vl), 2, vl));
}

int mf_add_rows_s8_rvv(const int8_t *a, const int8_t *b, int8_t *y, const mf_add_rows_s8_desc *d)
{
    if (!a || !b || !y || !d || !d->add.rq.mult || !d->add.rq.shift) return MF_EARG;
    if (d->rows < 0 || d->add.n < 0 || d->a_stride < 0 || d->b_stride < 0 || d->y_stride < 0)
        return MF_ESHAPE;
    const mf_s8_rq_ch q = mf_s8_rq_prepare(&d->add.rq, 0);
    if (!d->a_term || !d->b_term || q.rs <= 32) return mf_add_rows_s8_ref(a, b, y, d);
    const int32_t half = 1 << (q.rs - 33), n = d->add.n;
    const size_t sh = (size_t)(q.rs - 32);
    for (int32_t r = 0; r < d->rows; ++r, a += d->a_stride, b += d->b_stride, y += d->y_stride)
        for (int32_t i = 0; i < n;) {
            const size_t vl = __riscv_vsetvl_e32m4((size_t)(n - i));
            const vint32m4_t acc = __riscv_vadd_vv_i32m4(__riscv_vluxei32_v_i32m4(d->a_term, offsets(a + i, vl), vl),
                                                         __riscv_vluxei32_v_i32m4(d->b_term, offsets(b + i, vl), vl), vl);
            vint32m4_t v = __riscv_vsra_vx_i32m4(__riscv_vadd_vx_i32m4(__riscv_vmulh_vx_i32m4(acc, q.mult, vl), half, vl),
                                                 sh, vl);
            v = __riscv_vmin_vx_i32m4(__riscv_vmax_vx_i32m4(__riscv_vadd_vx_i32m4(v, q.zp, vl), q.lo, vl), q.hi, vl);
            __riscv_vse8_v_i8m1(y + i, __riscv_vncvt_x_x_w_i8m1(__riscv_vncvt_x_x_w_i16m2(v, vl), vl), vl);
            i += (int32_t)vl;
        }
    return MF_OK;
}
#endif
