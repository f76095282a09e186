/* FP16 GEMM for RISC-V vector (RVV 1.0, Zvfh), VLEN-agnostic: vsetvl strips the columns and
 * takes the tail, LMUL = 2 (LMUL 1 for a last strip that fits one register).
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

/* One column strip of the panel at LMUL L: 8-row tiles, a 4-row tile, then the leftover rows
 * one accumulator each. Instantiated at LMUL 2 (full strips) and LMUL 1 (strips of at most
 * VLMAX(e16, m1) columns: the tail of a long row, or a narrow C such as one head's PV), since
 * an LMUL-2 instruction costs two whatever its vl. The tiles take k four at a time: the rows'
 * A addresses are formed once per four loads (immediate offsets after that), which the scalar
 * side of the loop otherwise spends an add per scalar load on. Each accumulator still sums in
 * k order, so results are those of the one-k loop. */
#define SEED(L, i) __riscv_vfmv_v_f_f16##L(bias ? bias[i] : (mf_f16)0.0f, vl)
#define PUT(L, p, v) \
    __riscv_vse16_v_f16##L((_Float16 *)(p), relu ? __riscv_vfmax_vf_f16##L(v, (mf_f16)0.0f, vl) : (v), vl)
#define LOADB(L, p) __riscv_vle16_v_f16##L((const _Float16 *)(p), vl)
/* c += A[r][p .. p+3] * B[p .. p+3] for row pointer ar */
#define FMA4(L, c, ar)                                    \
    c = __riscv_vfmacc_vf_f16##L(c, (ar)[p], b0, vl);     \
    c = __riscv_vfmacc_vf_f16##L(c, (ar)[p + 1], b1, vl); \
    c = __riscv_vfmacc_vf_f16##L(c, (ar)[p + 2], b2, vl); \
    c = __riscv_vfmacc_vf_f16##L(c, (ar)[p + 3], b3, vl)
#define FMA1(L, c, ar) c = __riscv_vfmacc_vf_f16##L(c, (ar)[p], b0, vl)
#define STRIP(L)                                                                                         \
    static void strip_##L(MF_PANEL_ARGS(mf_f16), int32_t j, size_t vl)                                   \
    {                                                                                                     \
        (void)n;                                                                                          \
        int32_t i = 0;                                                                                    \
        for (; i + ROWS <= m; i += ROWS) {                                                                \
            const mf_f16 *a0 = a + i * lda, *a1 = a0 + lda, *a2 = a1 + lda, *a3 = a2 + lda;               \
            const mf_f16 *a4 = a3 + lda, *a5 = a4 + lda, *a6 = a5 + lda, *a7 = a6 + lda;                  \
            const mf_f16 *bp = b + j;                                                                     \
            vfloat16##L##_t c0 = SEED(L, i), c1 = SEED(L, i + 1), c2 = SEED(L, i + 2);                    \
            vfloat16##L##_t c3 = SEED(L, i + 3), c4 = SEED(L, i + 4), c5 = SEED(L, i + 5);                \
            vfloat16##L##_t c6 = SEED(L, i + 6), c7 = SEED(L, i + 7);                                     \
            int32_t p = 0;                                                                                \
            for (; p + 4 <= k; p += 4, bp += 4 * ldb) {                                                   \
                const vfloat16##L##_t b0 = LOADB(L, bp), b1 = LOADB(L, bp + ldb);                         \
                const vfloat16##L##_t b2 = LOADB(L, bp + 2 * ldb), b3 = LOADB(L, bp + 3 * ldb);           \
                FMA4(L, c0, a0);                                                                          \
                FMA4(L, c1, a1);                                                                          \
                FMA4(L, c2, a2);                                                                          \
                FMA4(L, c3, a3);                                                                          \
                FMA4(L, c4, a4);                                                                          \
                FMA4(L, c5, a5);                                                                          \
                FMA4(L, c6, a6);                                                                          \
                FMA4(L, c7, a7);                                                                          \
            }                                                                                             \
            for (; p < k; ++p, bp += ldb) {                                                               \
                const vfloat16##L##_t b0 = LOADB(L, bp);                                                  \
                FMA1(L, c0, a0);                                                                          \
                FMA1(L, c1, a1);                                                                          \
                FMA1(L, c2, a2);                                                                          \
                FMA1(L, c3, a3);                                                                          \
                FMA1(L, c4, a4);                                                                          \
                FMA1(L, c5, a5);                                                                          \
                FMA1(L, c6, a6);                                                                          \
                FMA1(L, c7, a7);                                                                          \
            }                                                                                             \
            mf_f16 *cp = c + i * ldc + j;                                                                 \
            PUT(L, cp, c0);                                                                               \
            PUT(L, cp + ldc, c1);                                                                         \
            PUT(L, cp + 2 * ldc, c2);                                                                     \
            PUT(L, cp + 3 * ldc, c3);                                                                     \
            PUT(L, cp + 4 * ldc, c4);                                                                     \
            PUT(L, cp + 5 * ldc, c5);                                                                     \
            PUT(L, cp + 6 * ldc, c6);                                                                     \
            PUT(L, cp + 7 * ldc, c7);                                                                     \
        }                                                                                                 \
        if (i + 4 <= m) { /* 4 leftover rows share each B load (the attention row path's PV) */      \
            const mf_f16 *a0 = a + i * lda, *a1 = a0 + lda, *a2 = a1 + lda, *a3 = a2 + lda;               \
            const mf_f16 *bp = b + j;                                                                     \
            vfloat16##L##_t c0 = SEED(L, i), c1 = SEED(L, i + 1), c2 = SEED(L, i + 2);                    \
            vfloat16##L##_t c3 = SEED(L, i + 3);                                                          \
            int32_t p = 0;                                                                                \
            for (; p + 4 <= k; p += 4, bp += 4 * ldb) {                                                   \
                const vfloat16##L##_t b0 = LOADB(L, bp), b1 = LOADB(L, bp + ldb);                         \
                const vfloat16##L##_t b2 = LOADB(L, bp + 2 * ldb), b3 = LOADB(L, bp + 3 * ldb);           \
                FMA4(L, c0, a0);                                                                          \
                FMA4(L, c1, a1);                                                                          \
                FMA4(L, c2, a2);                                                                          \
                FMA4(L, c3, a3);                                                                          \
            }                                                                                             \
            for (; p < k; ++p, bp += ldb) {                                                               \
                const vfloat16##L##_t b0 = LOADB(L, bp);                                                  \
                FMA1(L, c0, a0);                                                                          \
                FMA1(L, c1, a1);                                                                          \
                FMA1(L, c2, a2);                                                                          \
                FMA1(L, c3, a3);                                                                          \
            }                                                                                             \
            mf_f16 *cp = c + i * ldc + j;                                                                 \
            PUT(L, cp, c0);                                                                               \
            PUT(L, cp + ldc, c1);                                                                         \
            PUT(L, cp + 2 * ldc, c2);                                                                     \
            PUT(L, cp + 3 * ldc, c3);                                                                     \
            i += 4;                                                                                       \
        }                                                                                                 \
        for (; i < m; ++i) { /* leftover rows, one accumulator each */                                   \
            const mf_f16 *ar = a + i * lda;                                                               \
            const mf_f16 *bp = b + j;                                                                     \
            vfloat16##L##_t acc = SEED(L, i);                                                             \
            for (int32_t p = 0; p < k; ++p, bp += ldb)                                                    \
                acc = __riscv_vfmacc_vf_f16##L(acc, ar[p], LOADB(L, bp), vl);                             \
            PUT(L, c + i * ldc + j, acc);                                                                 \
        }                                                                                                 \
    }

STRIP(m2)
STRIP(m1)

void mf_gemm_panel_f16_rvv(MF_PANEL_ARGS(mf_f16))
{
    const size_t narrow = __riscv_vsetvlmax_e16m1();
    for (int32_t j = 0; j < n;) {
        size_t vl;
        if ((size_t)(n - j) <= narrow) {
            vl = __riscv_vsetvl_e16m1((size_t)(n - j));
            strip_m1(a, lda, b, ldb, c, ldc, m, n, k, bias, relu, j, vl);
        } else {
            vl = __riscv_vsetvl_e16m2((size_t)(n - j));
            strip_m2(a, lda, b, ldb, c, ldc, m, n, k, bias, relu, j, vl);
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
