/* Integer-only LayerNorm for RISC-V vector (mf_int8_vit.h): the row's sum and sum of
 * squares of x - in_zp (vwsub to int16, vwredsum and vwmul + vwredsum to int32; vsetvl takes
 * the tail), the reference's per-row reciprocal (qnorm_s8_row.inc), then the per-element
 * step on 64-bit lanes: bit-exact with _ref. */
#include "mf_int8_vit.h"

#if defined(__riscv_vector)
#include <riscv_vector.h>

#include "qnorm_s8_row.inc"

/* mf_layernorm_s8_row's per-element step on 64-bit lanes (e64, LMUL 4): d_i on int32, its
 * product with inv widened (vwmulsu), N_i by vssra rounding to nearest up (the reference's
 * + 2^(rs - 1) >> rs, exactly), N_i * gamma + beta * 2^F by vwmacc, the output shift the same
 * way, then the clamps and the narrowing store. */
static void normalise(const int8_t *xr, const int32_t *gamma, const int32_t *beta, int8_t *yr,
                      const mf_layernorm_s8_desc *d, int32_t sum, uint32_t inv, int32_t rs)
{
    const int32_t c = d->cols;
    const size_t out_shift = (size_t)(MF_LAYERNORM_S8_FRAC + d->g_shift);
    for (int32_t j = 0; j < c;) { /* the row's sums are complete: y may be x */
        const size_t vl = __riscv_vsetvl_e64m4((size_t)(c - j));
        const vint32m2_t xv = __riscv_vsext_vf4_i32m2(__riscv_vle8_v_i8mf2(xr + j, vl), vl);
        const vint32m2_t dj = __riscv_vsub_vx_i32m2(__riscv_vmul_vx_i32m2(__riscv_vsub_vx_i32m2(xv, d->in_zp, vl), c, vl),
                                                   sum, vl);
        const vint64m4_t n = __riscv_vssra_vx_i64m4(__riscv_vwmulsu_vx_i64m4(dj, inv, vl), (size_t)rs, __RISCV_VXRM_RNU, vl);
        vint64m4_t acc = __riscv_vsll_vx_i64m4(__riscv_vsext_vf2_i64m4(__riscv_vle32_v_i32m2(beta + j, vl), vl),
                                               MF_LAYERNORM_S8_FRAC, vl);
        acc = __riscv_vwmacc_vv_i64m4(acc, __riscv_vncvt_x_x_w_i32m2(n, vl), __riscv_vle32_v_i32m2(gamma + j, vl), vl);
        vint64m4_t q = __riscv_vssra_vx_i64m4(acc, out_shift, __RISCV_VXRM_RNU, vl);
        q = __riscv_vmin_vx_i64m4(__riscv_vmax_vx_i64m4(q, -256, vl), 256, vl);
        vint32m2_t o = __riscv_vadd_vx_i32m2(__riscv_vncvt_x_x_w_i32m2(q, vl), d->out_zp, vl);
        o = __riscv_vmin_vx_i32m2(__riscv_vmax_vx_i32m2(o, -128, vl), 127, vl);
        __riscv_vse8_v_i8mf2(yr + j, __riscv_vncvt_x_x_w_i8mf2(__riscv_vncvt_x_x_w_i16m1(o, vl), vl), vl);
        j += (int32_t)vl;
    }
}

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
        const int32_t sum = __riscv_vmv_x_s_i32m1_i32(s), sumsq = __riscv_vmv_x_s_i32m1_i32(sq);
        int64_t inv;
        const int32_t rs = mf_layernorm_s8_inv(d, sum, sumsq, &inv);
        if (inv > (int64_t)UINT32_MAX) /* inv = 2^32: only when isqrt lands on 2^30 exactly */
            mf_layernorm_s8_row(xr, gamma, beta, y + (size_t)r * d->cols, d, sum, sumsq);
        else
            normalise(xr, gamma, beta, y + (size_t)r * d->cols, d, sum, (uint32_t)inv, rs);
    }
    return MF_OK;
}
#endif
