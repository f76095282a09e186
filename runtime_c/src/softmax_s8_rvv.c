/* int8 softmax for RISC-V vector (the contract of mf_softmax_s8_ref, mf_int8.h): the row's max
 * and smallest value (vredmax, vredmin on e8), the exact sum of lut[max - x] by an indexed
 * load of table words (vluxei32, byte offsets 4 * (max - x)) reduced into 64 bits (vwredsum),
 * the row's output table (softmax_s8_row.inc), then y = tab[max - x] by an indexed byte load
 * (vluxei8). Tails by vsetvl. Bit-exact with _ref. */
#include "mf_int8.h"

#if defined(__riscv_vector)
#include <riscv_vector.h>

#include "softmax_s8_row.inc"

int mf_softmax_s8_rvv(const int8_t *x, int8_t *y, const mf_softmax_s8_desc *d)
{
    const int st = mf_softmax_s8_args(x, y, d);
    if (st != MF_OK) return st;
    if (!mf_softmax_s8_walk_ok(d)) return mf_softmax_s8_ref(x, y, d);
    int8_t tab[256];
    const int32_t monotone = mf_softmax_s8_monotone(d->lut);
    const int32_t c = d->cols;
    for (int32_t r = 0; r < d->rows; ++r) {
        const int8_t *xr = x + (size_t)r * c;
        int8_t *yr = y + (size_t)r * c;
        vint8m1_t mxv = __riscv_vmv_s_x_i8m1(-128, 1), mnv = __riscv_vmv_s_x_i8m1(127, 1);
        for (int32_t j = 0; j < c;) {
            const size_t vl = __riscv_vsetvl_e8m4((size_t)(c - j));
            const vint8m4_t v = __riscv_vle8_v_i8m4(xr + j, vl);
            mxv = __riscv_vredmax_vs_i8m4_i8m1(v, mxv, vl);
            mnv = __riscv_vredmin_vs_i8m4_i8m1(v, mnv, vl);
            j += (int32_t)vl;
        }
        const int32_t mx = __riscv_vmv_x_s_i8m1_i8(mxv), mn = __riscv_vmv_x_s_i8m1_i8(mnv);
        vint64m1_t s = __riscv_vmv_s_x_i64m1(0, 1);
        for (int32_t j = 0; j < c;) {
            const size_t vl = __riscv_vsetvl_e32m4((size_t)(c - j));
            const vint32m4_t v = __riscv_vsext_vf4_i32m4(__riscv_vle8_v_i8m1(xr + j, vl), vl);
            const vint32m4_t off = __riscv_vsll_vx_i32m4(__riscv_vrsub_vx_i32m4(v, mx, vl), 2, vl);
            const vint32m4_t e = __riscv_vluxei32_v_i32m4(d->lut, __riscv_vreinterpret_v_i32m4_u32m4(off), vl);
            s = __riscv_vwredsum_vs_i32m4_i64m1(e, s, vl);
            j += (int32_t)vl;
        }
        mf_softmax_s8_table(d, monotone, __riscv_vmv_x_s_i64m1_i64(s), mx - mn, tab);
        /* y may be x: each vector is loaded before it is stored */
        for (int32_t j = 0; j < c;) {
            const size_t vl = __riscv_vsetvl_e8m4((size_t)(c - j));
            const vuint8m4_t v = __riscv_vle8_v_u8m4((const uint8_t *)xr + j, vl);
            const vuint8m4_t dd = __riscv_vrsub_vx_u8m4(v, (uint8_t)mx, vl); /* max - x mod 256 */
            __riscv_vse8_v_i8m4(yr + j, __riscv_vluxei8_v_i8m4(tab, dd, vl), vl);
            j += (int32_t)vl;
        }
    }
    return MF_OK;
}
#endif
