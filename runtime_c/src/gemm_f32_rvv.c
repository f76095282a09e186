/* FP32 GEMM for RISC-V vector (RVV 1.0), VLEN-agnostic: vsetvl strips the columns and takes the
 * tail, LMUL = 4 (16 columns at VLEN 128, the im2col chunk MF_CONV_COLS_RVV).
 *
 * Outer-product micro-kernel: 6 rows of C are 6 LMUL-4 accumulators (24 vector registers, the
 * B row 4 more); per k one vector load of a B row and, per row, one scalar flw of A and one
 * vfmacc.vf: at VLEN 128, 96 MACs per 4 + 6 + 24 = 34 LMUL-weighted instructions. */
#if defined(__riscv_vector)
#include <riscv_vector.h>

#include "mf_simd_f32.h"

#define ROWS 6

static inline vfloat32m4_t seed(const float *bias, int32_t i, size_t vl)
{
    return __riscv_vfmv_v_f_f32m4(bias ? bias[i] : 0.0f, vl);
}

static inline void put(float *c, vfloat32m4_t v, int relu, size_t vl)
{
    if (relu) v = __riscv_vfmax_vf_f32m4(v, 0.0f, vl);
    __riscv_vse32_v_f32m4(c, v, vl);
}

void mf_gemm_panel_f32_rvv(MF_PANEL_ARGS(float))
{
    for (int32_t j = 0; j < n;) {
        const size_t vl = __riscv_vsetvl_e32m4((size_t)(n - j));
        int32_t i = 0;
        for (; i + ROWS <= m; i += ROWS) {
            const float *a0 = a + i * lda, *a1 = a0 + lda, *a2 = a1 + lda, *a3 = a2 + lda;
            const float *a4 = a3 + lda, *a5 = a4 + lda;
            const float *bp = b + j;
            vfloat32m4_t c0 = seed(bias, i, vl), c1 = seed(bias, i + 1, vl);
            vfloat32m4_t c2 = seed(bias, i + 2, vl), c3 = seed(bias, i + 3, vl);
            vfloat32m4_t c4 = seed(bias, i + 4, vl), c5 = seed(bias, i + 5, vl);
            for (int32_t p = 0; p < k; ++p, bp += ldb) {
                const vfloat32m4_t bv = __riscv_vle32_v_f32m4(bp, vl);
                c0 = __riscv_vfmacc_vf_f32m4(c0, a0[p], bv, vl);
                c1 = __riscv_vfmacc_vf_f32m4(c1, a1[p], bv, vl);
                c2 = __riscv_vfmacc_vf_f32m4(c2, a2[p], bv, vl);
                c3 = __riscv_vfmacc_vf_f32m4(c3, a3[p], bv, vl);
                c4 = __riscv_vfmacc_vf_f32m4(c4, a4[p], bv, vl);
                c5 = __riscv_vfmacc_vf_f32m4(c5, a5[p], bv, vl);
            }
            float *cp = c + i * ldc + j;
            put(cp, c0, relu, vl);
            put(cp + ldc, c1, relu, vl);
            put(cp + 2 * ldc, c2, relu, vl);
            put(cp + 3 * ldc, c3, relu, vl);
            put(cp + 4 * ldc, c4, relu, vl);
            put(cp + 5 * ldc, c5, relu, vl);
        }
        for (; i < m; ++i) { /* leftover rows, one accumulator each */
            const float *ar = a + i * lda;
            const float *bp = b + j;
            vfloat32m4_t acc = seed(bias, i, vl);
            for (int32_t p = 0; p < k; ++p, bp += ldb)
                acc = __riscv_vfmacc_vf_f32m4(acc, ar[p], __riscv_vle32_v_f32m4(bp, vl), vl);
            put(c + i * ldc + j, acc, relu, vl);
        }
        j += (int32_t)vl;
    }
}

int mf_gemm_f32_rvv(const float *a, const float *b, const float *c, float *y,
                    const mf_gemm_desc *d)
{
    return mf_gemm_by_panel_f32(a, b, c, y, d, mf_gemm_panel_f32_rvv);
}
#endif
