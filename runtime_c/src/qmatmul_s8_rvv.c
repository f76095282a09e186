/* int8 MatMul of two activations for RISC-V vector (mf_int8_vit.h). B as [k][n]: up to 32
 * outputs of a row at a time (vsetvl at e16, LMUL 2, takes the n tail), each step one B row
 * slice widened to int16 minus b_zp (vwsub), then vwmacc by the scalar a - a_zp into int32
 * (LMUL 4). B as [n][k]: dot products along k, 16 lanes of (a - a_zp)(b - b_zp) accumulated
 * by vwmacc (tail-undisturbed, so the last short step leaves the other lanes' sums) and one
 * vredsum per output. Exact int32 sums: bit-exact with _ref. Few live vector registers, so
 * no whole-register spills (QEMU 7.2 aborts on vl2re32.v). */
#include "mf_int8_simd.h"
#include "mf_int8_vit.h"

#if defined(__riscv_vector)
#include <riscv_vector.h>

#include "qmatmul_s8_row.inc"

static void mf_matmul_row_kn(const int8_t *ar, const int8_t *bm, int8_t *yr, const mf_matmul_s8_desc *d)
{
    const mf_s8_rq_ch rq = mf_s8_rq_prepare(&d->rq, 0); /* the requantisation prepared once per row */
    const int32_t k = d->k, ldb = mf_matmul_s8_ldb(d), za = d->a_zp;
    const int8_t zb = (int8_t)d->b_zp;
    int32_t out[32];
    for (int32_t j = 0, left = d->n; left > 0;) {
        const size_t vl = __riscv_vsetvl_e16m2((size_t)(left < 32 ? left : 32));
        vint32m4_t acc = __riscv_vmv_v_x_i32m4(0, vl);
        const int8_t *bp = bm + j;
        for (int32_t t = 0; t < k; ++t, bp += ldb) {
            const vint16m2_t bv = __riscv_vwsub_vx_i16m2(__riscv_vle8_v_i8m1(bp, vl), zb, vl);
            acc = __riscv_vwmacc_vx_i32m4(acc, (int16_t)(ar[t] - za), bv, vl);
        }
        __riscv_vse32_v_i32m4(out, acc, vl);
        for (size_t q = 0; q < vl; ++q) yr[j + (int32_t)q] = mf_s8_rq_apply(out[q], &rq);
        j += (int32_t)vl;
        left -= (int32_t)vl;
    }
}

static void mf_matmul_row_nk(const int8_t *ar, const int8_t *bm, int8_t *yr, const mf_matmul_s8_desc *d)
{
    const mf_s8_rq_ch rq = mf_s8_rq_prepare(&d->rq, 0); /* the requantisation prepared once per row */
    const int32_t k = d->k, ldb = mf_matmul_s8_ldb(d);
    const int8_t za = (int8_t)d->a_zp, zb = (int8_t)d->b_zp;
    for (int32_t j = 0; j < d->n; ++j) {
        const int8_t *br = bm + (size_t)j * ldb;
        size_t vl = __riscv_vsetvl_e8m1((size_t)k);
        vint32m4_t acc = __riscv_vmv_v_x_i32m4(0, vl); /* lane sums; lanes past the tail keep theirs (tu) */
        for (int32_t t = 0, left = k; left > 0;) {
            vl = __riscv_vsetvl_e8m1((size_t)left);
            const vint16m2_t av = __riscv_vwsub_vx_i16m2(__riscv_vle8_v_i8m1(ar + t, vl), za, vl);
            const vint16m2_t bv = __riscv_vwsub_vx_i16m2(__riscv_vle8_v_i8m1(br + t, vl), zb, vl);
            acc = __riscv_vwmacc_vv_i32m4_tu(acc, av, bv, vl);
            t += (int32_t)vl;
            left -= (int32_t)vl;
        }
        vl = __riscv_vsetvl_e8m1((size_t)k);
        const vint32m1_t s = __riscv_vredsum_vs_i32m4_i32m1(acc, __riscv_vmv_s_x_i32m1(0, 1), vl);
        yr[j] = mf_s8_rq_apply(__riscv_vmv_x_s_i32m1_i32(s), &rq);
    }
}

int mf_matmul_s8_rvv(const int8_t *a, const int8_t *b, int8_t *y, const mf_matmul_s8_desc *d)
{
    return mf_matmul_s8_rows(a, b, y, d, mf_matmul_row_nk, mf_matmul_row_kn);
}
#endif
