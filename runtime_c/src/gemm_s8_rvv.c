/* int8 GEMM core for RISC-V vector (RVV 1.0), shared by conv_s8_rvv.c: an outer product
 * over an int16 panel B[k][cols] (the im2col matrix, widened once when it is built, so the
 * inner loop never changes vtype). Four output channels are four int32 accumulators of up
 * to VLEN/8 columns (e32, LMUL=4: 16 at VLEN=128); per k one vector load of a panel row
 * and, per channel, one scalar int8 weight and one widening vwmacc.vx (int16 x int16 ->
 * int32; an int8 -> int16 vwmacc would overflow after two products). At VLEN=128 that is
 * 64 MACs per vle16 + 4 lb + 4 vwmacc, about 4 MACs per LMUL-weighted instruction.
 * Requantisation is vectorised and bit-exact (mf_s8_rq_store_rvv): for the usual scales
 * below 1/2 vmulh and a rounding vssra, then saturating narrowings; else vwmul to int64,
 * vssra with round-to-nearest-up (exactly mf_requant's (p + 2^(rs-1)) >> rs) and narrowing. */
#include "mf_int8_simd.h"

#if defined(__riscv_vector)
#include <riscv_vector.h>

void mf_s8_rq_store_rvv(int8_t *y, vint32m4_t acc, const mf_requant_s8 *rq, int32_t ch,
                        size_t vl)
{
    const int32_t i = rq->per_channel ? ch : 0, rs = 31 - rq->shift[i];
    if (rs > 32) {
        /* the rounding term only touches the high word of the product (as on Helium): vmulh
         * (the high word, floored), then a rounding shift right by rs - 32 (vssra, round to
         * nearest up) is exact. Then two saturating narrowings (vnclip by 0) instead of
         * int32 clamps: zp is added at int16 with saturation, which clamps as the int32 sum
         * would once narrowed to int8; only the activation's own bounds are left, at int8. */
        const vint32m4_t h = __riscv_vmulh_vx_i32m4(acc, rq->mult[i], vl);
        const vint32m4_t v = __riscv_vssra_vx_i32m4(h, (size_t)(rs - 32), __RISCV_VXRM_RNU, vl);
        const vint16m2_t v16 = __riscv_vsadd_vx_i16m2(__riscv_vnclip_wx_i16m2(v, 0, __RISCV_VXRM_RDN, vl),
                                                      (int16_t)rq->out_zp, vl);
        vint8m1_t v8 = __riscv_vnclip_wx_i8m1(v16, 0, __RISCV_VXRM_RDN, vl);
        if (rq->act_min > -128) v8 = __riscv_vmax_vx_i8m1(v8, (int8_t)rq->act_min, vl);
        if (rq->act_max < 127) v8 = __riscv_vmin_vx_i8m1(v8, (int8_t)rq->act_max, vl);
        __riscv_vse8_v_i8m1(y, v8, vl);
        return;
    }
    /* scales of 1/2 and more: the 64-bit product, vssra with round-to-nearest-up (exactly
     * mf_requant's (p + 2^(rs-1)) >> rs), then narrowing with truncation */
    const vint64m8_t p = __riscv_vwmul_vx_i64m8(acc, rq->mult[i], vl);
    const vint64m8_t s = __riscv_vssra_vx_i64m8(p, (size_t)rs, __RISCV_VXRM_RNU, vl);
    vint32m4_t v = __riscv_vadd_vx_i32m4(__riscv_vncvt_x_x_w_i32m4(s, vl), rq->out_zp, vl);
    v = __riscv_vmin_vx_i32m4(__riscv_vmax_vx_i32m4(v, rq->act_min, vl), rq->act_max, vl);
    const vint16m2_t h = __riscv_vncvt_x_x_w_i16m2(v, vl);
    __riscv_vse8_v_i8m1(y, __riscv_vncvt_x_x_w_i8m1(h, vl), vl);
}

static inline vint32m4_t seed(const int32_t *bias, int32_t r, size_t vl)
{
    return __riscv_vmv_v_x_i32m4(bias ? bias[r] : 0, vl);
}

#define STEP4(u) { \
        const vint16m2_t bv = __riscv_vle16_v_i16m2(bp + (u) * ldb, vl); \
        c0 = __riscv_vwmacc_vx_i32m4(c0, w0[p + (u)], bv, vl); \
        c1 = __riscv_vwmacc_vx_i32m4(c1, w1[p + (u)], bv, vl); \
        c2 = __riscv_vwmacc_vx_i32m4(c2, w2[p + (u)], bv, vl); \
        c3 = __riscv_vwmacc_vx_i32m4(c3, w3[p + (u)], bv, vl); \
    }

void mf_gemm_s8_rvv(const int8_t *w, int32_t k, int32_t rows, const int16_t *b, int32_t ldb,
                    int32_t cols, const int32_t *bias, int8_t *y, int32_t rs,
                    const mf_requant_s8 *rq, int32_t ch0)
{
    for (int32_t j = 0; j < cols;) {
        const size_t vl = __riscv_vsetvl_e16m2((size_t)(cols - j));
        int32_t r = 0;
        for (; r + 4 <= rows; r += 4) {
            const int8_t *w0 = w + r * k, *w1 = w0 + k, *w2 = w1 + k, *w3 = w2 + k;
            const int16_t *bp = b + j;
            vint32m4_t c0 = seed(bias, r, vl), c1 = seed(bias, r + 1, vl);
            vint32m4_t c2 = seed(bias, r + 2, vl), c3 = seed(bias, r + 3, vl);
            int32_t p = 0;
            /* four k per trip: the weight loads then take immediate offsets */
            for (; p + 4 <= k; p += 4) {
                STEP4(0) STEP4(1) STEP4(2) STEP4(3)
                bp += 4 * ldb;
            }
            for (; p < k; ++p, bp += ldb) {
                const vint16m2_t bv = __riscv_vle16_v_i16m2(bp, vl);
                c0 = __riscv_vwmacc_vx_i32m4(c0, w0[p], bv, vl);
                c1 = __riscv_vwmacc_vx_i32m4(c1, w1[p], bv, vl);
                c2 = __riscv_vwmacc_vx_i32m4(c2, w2[p], bv, vl);
                c3 = __riscv_vwmacc_vx_i32m4(c3, w3[p], bv, vl);
            }
            mf_s8_rq_store_rvv(y + r * rs + j, c0, rq, ch0 + r, vl);
            mf_s8_rq_store_rvv(y + (r + 1) * rs + j, c1, rq, ch0 + r + 1, vl);
            mf_s8_rq_store_rvv(y + (r + 2) * rs + j, c2, rq, ch0 + r + 2, vl);
            mf_s8_rq_store_rvv(y + (r + 3) * rs + j, c3, rq, ch0 + r + 3, vl);
        }
        for (; r < rows; ++r) {
            const int8_t *w0 = w + r * k;
            const int16_t *bp = b + j;
            vint32m4_t c0 = seed(bias, r, vl);
            for (int32_t p = 0; p < k; ++p, bp += ldb)
                c0 = __riscv_vwmacc_vx_i32m4(c0, w0[p], __riscv_vle16_v_i16m2(bp, vl), vl);
            mf_s8_rq_store_rvv(y + r * rs + j, c0, rq, ch0 + r, vl);
        }
        j += (int32_t)vl;
    }
}
#endif
