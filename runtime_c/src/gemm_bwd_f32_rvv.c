/* F32 backward micro-kernel and matmul gradients for RISC-V vector (RVV 1.0), VLEN-agnostic.
 *
 * Outer product as the forward GEMM (gemm_f16_rvv.c): 8 rows of C in 8 LMUL-2 accumulators over
 * up to VLMAX columns (vsetvl takes the tail); per reduction step one vector load of a B row
 * (strided vlse where B's columns are not contiguous, e.g. x @ W's input gradient) and per row
 * one scalar load of A and one vfmacc.vf. FP32 accumulators. */
#if defined(__riscv_vector)
#include <riscv_vector.h>

#include "mf_train.h"

static inline vfloat32m2_t load_b(const float *bp, int32_t b_cs, size_t vl)
{
    return b_cs == 1 ? __riscv_vle32_v_f32m2((const float *)bp, vl)
                     : __riscv_vlse32_v_f32m2((const float *)bp, (ptrdiff_t)b_cs * 4, vl);
}

static inline void put(float *c, vfloat32m2_t v, float alpha, int accumulate, size_t vl)
{
    if (alpha != 1.0f) v = __riscv_vfmul_vf_f32m2(v, (float)alpha, vl);
    if (accumulate) v = __riscv_vfadd_vv_f32m2(v, __riscv_vle32_v_f32m2((const float *)c, vl), vl);
    __riscv_vse32_v_f32m2((float *)c, v, vl);
}

void mf_bwd_tile_f32_rvv(MF_BWD_TILE_ARGS(float))
{
    for (int32_t j = 0; j < n;) {
        const size_t vl = __riscv_vsetvl_e32m2((size_t)(n - j));
        const vfloat32m2_t zero = __riscv_vfmv_v_f_f32m2((float)0.0f, vl);
        const float *bj = b + j * b_cs;
        int32_t i = 0;
        for (; i + 8 <= m; i += 8) {
            const float *a0 = a + i * a_rs, *a1 = a0 + 1 * a_rs, *a2 = a0 + 2 * a_rs, *a3 = a0 + 3 * a_rs, *a4 = a0 + 4 * a_rs, *a5 = a0 + 5 * a_rs, *a6 = a0 + 6 * a_rs, *a7 = a0 + 7 * a_rs;
            const float *bp = bj;
            vfloat32m2_t c0 = zero;
            vfloat32m2_t c1 = zero;
            vfloat32m2_t c2 = zero;
            vfloat32m2_t c3 = zero;
            vfloat32m2_t c4 = zero;
            vfloat32m2_t c5 = zero;
            vfloat32m2_t c6 = zero;
            vfloat32m2_t c7 = zero;
            for (int32_t q = 0; q < k; ++q, bp += b_rs) {
                const vfloat32m2_t bv = load_b(bp, b_cs, vl);
                c0 = __riscv_vfmacc_vf_f32m2(c0, *a0, bv, vl);
                c1 = __riscv_vfmacc_vf_f32m2(c1, *a1, bv, vl);
                c2 = __riscv_vfmacc_vf_f32m2(c2, *a2, bv, vl);
                c3 = __riscv_vfmacc_vf_f32m2(c3, *a3, bv, vl);
                c4 = __riscv_vfmacc_vf_f32m2(c4, *a4, bv, vl);
                c5 = __riscv_vfmacc_vf_f32m2(c5, *a5, bv, vl);
                c6 = __riscv_vfmacc_vf_f32m2(c6, *a6, bv, vl);
                c7 = __riscv_vfmacc_vf_f32m2(c7, *a7, bv, vl);
                a0 += a_cs; a1 += a_cs; a2 += a_cs; a3 += a_cs; a4 += a_cs; a5 += a_cs; a6 += a_cs; a7 += a_cs;
            }
            put(c + (i + 0) * c_rs + j, c0, alpha, accumulate, vl);
            put(c + (i + 1) * c_rs + j, c1, alpha, accumulate, vl);
            put(c + (i + 2) * c_rs + j, c2, alpha, accumulate, vl);
            put(c + (i + 3) * c_rs + j, c3, alpha, accumulate, vl);
            put(c + (i + 4) * c_rs + j, c4, alpha, accumulate, vl);
            put(c + (i + 5) * c_rs + j, c5, alpha, accumulate, vl);
            put(c + (i + 6) * c_rs + j, c6, alpha, accumulate, vl);
            put(c + (i + 7) * c_rs + j, c7, alpha, accumulate, vl);
        }
        for (; i < m; ++i) { /* leftover rows, one accumulator each */
            const float *ar = a + i * a_rs, *bp = bj;
            vfloat32m2_t acc = zero;
            for (int32_t q = 0; q < k; ++q, bp += b_rs, ar += a_cs)
                acc = __riscv_vfmacc_vf_f32m2(acc, *ar, load_b(bp, b_cs, vl), vl);
            put(c + i * c_rs + j, acc, alpha, accumulate, vl);
        }
        j += (int32_t)vl;
    }
}

int mf_gemm_bwd_input_f32_rvv(const float *dy, const float *w, float *dx, const mf_gemm_bwd_input_desc *d)
{
    if (d && d->o_cs != 1 && d->o_rs != 1) return mf_gemm_bwd_input_f32_ref(dy, w, dx, d);
    return mf_gemm_bwd_input_tiled_f32(dy, w, dx, d, mf_bwd_tile_f32_rvv);
}

int mf_gemm_bwd_weight_f32_rvv(const float *a, const float *dy, float *dw, float *dc,
                               const mf_gemm_bwd_weight_desc *d)
{
    if (d && dw && d->w_ns != 1 && d->w_ks != 1) return mf_gemm_bwd_weight_f32_ref(a, dy, dw, dc, d);
    return mf_gemm_bwd_weight_tiled_f32(a, dy, dw, dc, d, mf_bwd_tile_f32_rvv);
}
#endif
