/* int8 Add (mf_add_s8, mf_int8.h) and the Add of a bias row (mf_add_row_s8, mf_int8_vit.h: the
 * row's terms once per chunk of 64 columns, on the stack, for every row) for
 * RISC-V vector: e32 at LMUL 4, each of the reference's three requantisations one vmulh and
 * one vssra rounding to nearest up, with constants prepared once per call (qrq_s8.inc); the
 * tail by vsetvl. Bit-exact with _ref; the reference runs where the prepared form does not
 * apply. */
#include "mf_int8_vit.h"

#if defined(__riscv_vector)
#include <riscv_vector.h>

#include "qrq_s8.inc"
#include "qadd_s8_drive.inc"

static inline vint32m4_t rq(vint32m4_t v, const mf_qrq *r, size_t vl)
{
    const vint32m4_t hi = __riscv_vmulh_vx_i32m4(__riscv_vsll_vx_i32m4(v, (size_t)r->pre, vl), r->mult, vl);
    return __riscv_vssra_vx_i32m4(hi, (size_t)r->post, __RISCV_VXRM_RNU, vl);
}

static inline vint32m4_t lifted(const int8_t *p, int32_t zp, int32_t ls, size_t vl)
{
    const vint32m4_t v = __riscv_vsext_vf4_i32m4(__riscv_vle8_v_i8m1(p, vl), vl);
    return __riscv_vsll_vx_i32m4(__riscv_vsub_vx_i32m4(v, zp, vl), (size_t)ls, vl);
}

static void add_n(const int8_t *a, const int8_t *b, int8_t *y, int32_t n, const mf_add_s8_prep *k)
{
    for (int32_t i = 0; i < n;) { /* y may be a or b: both are loaded before the store */
        const size_t vl = __riscv_vsetvl_e32m4((size_t)(n - i));
        const vint32m4_t acc = __riscv_vadd_vv_i32m4(rq(lifted(a + i, k->a_zp, k->a_ls, vl), &k->a, vl),
                                                     rq(lifted(b + i, k->b_zp, k->b_ls, vl), &k->b, vl), vl);
        vint32m4_t v = __riscv_vadd_vx_i32m4(rq(acc, &k->o, vl), k->zp, vl);
        v = __riscv_vmin_vx_i32m4(__riscv_vmax_vx_i32m4(v, k->lo, vl), k->hi, vl);
        __riscv_vse8_v_i8m1(y + i, __riscv_vncvt_x_x_w_i8m1(__riscv_vncvt_x_x_w_i16m2(v, vl), vl), vl);
        i += (int32_t)vl;
    }
}

/* an add whose b side is the bias row's terms tb (computed once per chunk of columns) */

static void add_terms(const int8_t *a, const int32_t *tb, int8_t *y, int32_t n, const mf_add_s8_prep *k)
{
    for (int32_t i = 0; i < n;) { /* y may be x: a vector is loaded before it is stored */
        const size_t vl = __riscv_vsetvl_e32m4((size_t)(n - i));
        const vint32m4_t acc = __riscv_vadd_vv_i32m4(rq(lifted(a + i, k->a_zp, k->a_ls, vl), &k->a, vl),
                                                     __riscv_vle32_v_i32m4(tb + i, vl), vl);
        vint32m4_t v = __riscv_vadd_vx_i32m4(rq(acc, &k->o, vl), k->zp, vl);
        v = __riscv_vmin_vx_i32m4(__riscv_vmax_vx_i32m4(v, k->lo, vl), k->hi, vl);
        __riscv_vse8_v_i8m1(y + i, __riscv_vncvt_x_x_w_i8m1(__riscv_vncvt_x_x_w_i16m2(v, vl), vl), vl);
        i += (int32_t)vl;
    }
}

static void terms(const int8_t *row, int32_t *tb, int32_t w, const mf_add_s8_prep *k)
{
    for (int32_t c = 0; c < w;) {
        const size_t vl = __riscv_vsetvl_e32m4((size_t)(w - c));
        __riscv_vse32_v_i32m4(tb + c, rq(lifted(row + c, k->b_zp, k->b_ls, vl), &k->b, vl), vl);
        c += (int32_t)vl;
    }
}

int mf_add_s8_rvv(const int8_t *a, const int8_t *b, int8_t *y, const mf_add_s8_desc *d)
{
    return mf_add_s8_drive(a, b, y, d, add_n);
}

int mf_add_row_s8_rvv(const int8_t *x, const int8_t *row, int8_t *y, int32_t rows, const mf_add_s8_desc *d)
{
    return mf_add_row_s8_drive(x, row, y, rows, d, terms, add_terms);
}
#endif
