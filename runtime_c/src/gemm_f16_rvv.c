/* FP16 GEMM for RISC-V vector (RVV 1.0, Zvfh), VLEN-agnostic: vsetvl strips the columns and
 * takes the tail, LMUL = 2.
 *
 * Outer-product micro-kernel: 8 rows of C are 8 vector accumulators over up to VLMAX
 * columns; per k one vector load of a B row and, per row, one scalar FP16 load of A and one
 * vfmacc.vf. At VLEN = 128 that is 128 MACs per 8 flh + 1 vle + 8 vfmacc, i.e. about 4.5
 * MACs per LMUL-weighted instruction. Accumulates in FP16: the widening vfwmacc (FP32 sums)
 * costs twice the instructions per MAC, which the throughput target cannot afford; the
 * end-to-end tests bound the resulting error. */
#if defined(__riscv_vector)
#include <riscv_vector.h>

#include "mf_fast.h"

#define ROWS 8

static inline vfloat16m2_t seed(const mf_f16 *bias, int32_t i, size_t vl)
{
    return __riscv_vfmv_v_f_f16m2(bias ? bias[i] : (mf_f16)0.0f, vl);
}

static inline void put(mf_f16 *c, vfloat16m2_t v, int relu, size_t vl)
{
    if (relu) v = __riscv_vfmax_vf_f16m2(v, (mf_f16)0.0f, vl);
    __riscv_vse16_v_f16m2((_Float16 *)c, v, vl);
}

void mf_gemm_panel_f16_rvv(MF_PANEL_ARGS(mf_f16))
{
    for (int32_t j = 0; j < n;) {
        const size_t vl = __riscv_vsetvl_e16m2((size_t)(n - j));
        int32_t i = 0;
        for (; i + ROWS <= m; i += ROWS) {
            const mf_f16 *a0 = a + i * lda;
            const mf_f16 *bp = b + j;
            vfloat16m2_t c0 = seed(bias, i, vl), c1 = seed(bias, i + 1, vl);
            vfloat16m2_t c2 = seed(bias, i + 2, vl), c3 = seed(bias, i + 3, vl);
            vfloat16m2_t c4 = seed(bias, i + 4, vl), c5 = seed(bias, i + 5, vl);
            vfloat16m2_t c6 = seed(bias, i + 6, vl), c7 = seed(bias, i + 7, vl);
            for (int32_t p = 0; p < k; ++p, bp += ldb) {
                const vfloat16m2_t bv = __riscv_vle16_v_f16m2((const _Float16 *)bp, vl);
                c0 = __riscv_vfmacc_vf_f16m2(c0, a0[p], bv, vl);
                c1 = __riscv_vfmacc_vf_f16m2(c1, a0[lda + p], bv, vl);
                c2 = __riscv_vfmacc_vf_f16m2(c2, a0[2 * lda + p], bv, vl);
                c3 = __riscv_vfmacc_vf_f16m2(c3, a0[3 * lda + p], bv, vl);
                c4 = __riscv_vfmacc_vf_f16m2(c4, a0[4 * lda + p], bv, vl);
                c5 = __riscv_vfmacc_vf_f16m2(c5, a0[5 * lda + p], bv, vl);
                c6 = __riscv_vfmacc_vf_f16m2(c6, a0[6 * lda + p], bv, vl);
                c7 = __riscv_vfmacc_vf_f16m2(c7, a0[7 * lda + p], bv, vl);
            }
            mf_f16 *cp = c + i * ldc + j;
            put(cp, c0, relu, vl);
            put(cp + ldc, c1, relu, vl);
            put(cp + 2 * ldc, c2, relu, vl);
            put(cp + 3 * ldc, c3, relu, vl);
            put(cp + 4 * ldc, c4, relu, vl);
            put(cp + 5 * ldc, c5, relu, vl);
            put(cp + 6 * ldc, c6, relu, vl);
            put(cp + 7 * ldc, c7, relu, vl);
        }
        for (; i < m; ++i) { /* leftover rows, one accumulator each */
            const mf_f16 *ar = a + i * lda;
            const mf_f16 *bp = b + j;
            vfloat16m2_t acc = seed(bias, i, vl);
            for (int32_t p = 0; p < k; ++p, bp += ldb)
                acc = __riscv_vfmacc_vf_f16m2(acc, ar[p], __riscv_vle16_v_f16m2((const _Float16 *)bp, vl), vl);
            put(c + i * ldc + j, acc, relu, vl);
        }
        j += (int32_t)vl;
    }
}

int mf_gemm_f16_rvv(const mf_f16 *a, const mf_f16 *b, const mf_f16 *c, mf_f16 *y,
                    const mf_gemm_desc *d)
{
    return mf_gemm_by_panel_f16(a, b, c, y, d, mf_gemm_panel_f16_rvv);
}
#endif
