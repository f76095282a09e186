/* int8 MatMul of two activations for RISC-V vector (mf_int8_vit.h). B as [k][n]: a slice
 * of outputs of a row at a time (vsetvl at e16, LMUL 1, takes the n tail), each step one B
 * row slice widened to int16 minus b_zp (vwsub), then vwmacc by the scalar a - a_zp into
 * int32. B as [n][k]: dot products along k (vwsub both sides, vwmul, vredsum). Exact int32
 * sums: bit-exact with _ref. No LMUL above 2, so no whole-register spills (QEMU 7.2 aborts
 * on vl2re32.v). */
#include "mf_int8_vit.h"

#if defined(__riscv_vector)
#include <riscv_vector.h>

#include "qmatmul_s8_row.inc"

static void mf_matmul_row_kn(const int8_t *ar, const int8_t *bm, int8_t *yr, const mf_matmul_s8_desc *d)
{
    for (int32_t j = 0, left = d->n; left > 0;) {
        const size_t vl = __riscv_vsetvl_e16m1((size_t)(left < 16 ? left : 16));
        vint32m2_t acc = __riscv_vmv_v_x_i32m2(0, vl);
        for (int32_t t = 0; t < d->k; ++t) {
            const vint16m1_t bv = __riscv_vwsub_vx_i16m1(__riscv_vle8_v_i8mf2(bm + (size_t)t * mf_matmul_s8_ldb(d) + j, vl),
                                                         (int8_t)d->b_zp, vl);
            acc = __riscv_vwmacc_vx_i32m2(acc, (int16_t)(ar[t] - d->a_zp), bv, vl);
        }
        int32_t out[16];
        __riscv_vse32_v_i32m2(out, acc, vl);
        for (size_t q = 0; q < vl; ++q) yr[j + (int32_t)q] = mf_matmul_s8_out(out[q], d);
        j += (int32_t)vl;
        left -= (int32_t)vl;
    }
}

static void mf_matmul_row_nk(const int8_t *ar, const int8_t *bm, int8_t *yr, const mf_matmul_s8_desc *d)
{
    for (int32_t j = 0; j < d->n; ++j) {
        const int8_t *br = bm + (size_t)j * mf_matmul_s8_ldb(d);
        vint32m1_t acc = __riscv_vmv_s_x_i32m1(0, 1);
        for (int32_t t = 0, left = d->k; left > 0;) {
            const size_t vl = __riscv_vsetvl_e8mf2((size_t)left);
            const vint16m1_t av = __riscv_vwsub_vx_i16m1(__riscv_vle8_v_i8mf2(ar + t, vl), (int8_t)d->a_zp, vl);
            const vint16m1_t bv = __riscv_vwsub_vx_i16m1(__riscv_vle8_v_i8mf2(br + t, vl), (int8_t)d->b_zp, vl);
            acc = __riscv_vredsum_vs_i32m2_i32m1(__riscv_vwmul_vv_i32m2(av, bv, vl), acc, vl);
            t += (int32_t)vl;
            left -= (int32_t)vl;
        }
        yr[j] = mf_matmul_s8_out(__riscv_vmv_x_s_i32m1_i32(acc), d);
    }
}

int mf_matmul_s8_rvv(const int8_t *a, const int8_t *b, int8_t *y, const mf_matmul_s8_desc *d)
{
    return mf_matmul_s8_rows(a, b, y, d, mf_matmul_row_nk, mf_matmul_row_kn);
}
#endif
