/* Integrated transformer operators, FP32, register-blocked for cores without float SIMD
 * (Cortex-M4/M7, and the FP32 path of the SIMD cores). Same contract and results as
 * transformer_f32_ref.c up to the order of float rounding.
 *
 * Every product is a 4 x 4 register tile: 16 accumulators plus 4 + 4 operands fill 24 of the
 * 32 S registers, and per k step 8 loads feed 16 FMAs, so each weight loaded serves 4 tokens
 * (the reference kernels load each weight once per token, and reload and store the
 * accumulator row per MAC). Two tile shapes:
 * - outer: C[i][j] = sum_p A[i][p] B[p][j], B row-major (linear layers: B is the [in][out]
 *   weight; attention's PV: B is V). A column-wise bias seeds the accumulators.
 * - dot: C[i][j] = sum_p A[i][p] B[j][p], both operands row-major over p (attention's QK^T,
 *   and the patch embedding, whose conv weight is [dim][c * ph * pw]).
 * Rows beyond a multiple of 4 take a 1 x 8 or 1 x 4 tile, columns a scalar edge. */
#include <math.h>

#include "mf_attention_bias.h"
#include "mf_elementwise.h"
#include "mf_fast.h"
#include "mf_transformer.h"

#if defined(__clang__)
#define MF_UNROLL4 _Pragma("clang loop unroll_count(4)")
#else
#define MF_UNROLL4 _Pragma("GCC unroll 4")
#endif

#define FMA4(r, x)                  \
    do {                            \
        r##0 = MF_FMA(x, b0, r##0); \
        r##1 = MF_FMA(x, b1, r##1); \
        r##2 = MF_FMA(x, b2, r##2); \
        r##3 = MF_FMA(x, b3, r##3); \
    } while (0)

#define STORE4(p, r)  \
    do {              \
        (p)[0] = r##0; \
        (p)[1] = r##1; \
        (p)[2] = r##2; \
        (p)[3] = r##3; \
    } while (0)

/* ---------------------------------------------------------------- outer-product tiles */

#if defined(__ARM_ARCH_7EM__) && defined(__ARM_FP) && (__ARM_FP & 4)
/* Cortex-M4/M7: the tile in assembly, two k steps per iteration. VLDM brings a0..a3[k, k+1]
 * (8 values, 4 instructions) and a weight row's 4 values (1 instruction) into s16-s27, so 32
 * FMAs cost 10 other instructions: 1.31 instructions per MAC, where GCC's own loop needs 1.73
 * (one register per load, pointers bumped separately). Accumulators: s0-s15, row-major. */
#define MF_FMA_ROW(acc0, acc1, acc2, acc3, x)                                              \
    "vfma.f32 " acc0 ", " x ", s24\n\tvfma.f32 " acc1 ", " x ", s25\n\t"                  \
    "vfma.f32 " acc2 ", " x ", s26\n\tvfma.f32 " acc3 ", " x ", s27\n\t"
#define MF_FMA_TILE(x0, x1, x2, x3)                                                       \
    MF_FMA_ROW("s0", "s1", "s2", "s3", x0) MF_FMA_ROW("s4", "s5", "s6", "s7", x1)        \
    MF_FMA_ROW("s8", "s9", "s10", "s11", x2) MF_FMA_ROW("s12", "s13", "s14", "s15", x3)

/* not inlined: the asm needs 11 general registers of its own */
__attribute__((noinline)) static void outer_4x4(const float *a, int32_t lda, const float *b, int32_t ldb, float *c,
                      int32_t ldc, int32_t k, const float *bias)
{
    const float zero[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    const float *seed = bias ? bias : zero;
    const float *a0 = a, *a1 = a + lda, *a2 = a + 2 * lda, *a3 = a + 3 * lda;
    int32_t pairs = k >> 1;
    const int32_t odd = k & 1, ldb4 = ldb * 4, ldc4 = ldc * 4; /* strides in bytes */
    __asm__ volatile(
        "vldmia %[seed], {s0-s3}\n\t"
        "vldmia %[seed], {s4-s7}\n\t"
        "vldmia %[seed], {s8-s11}\n\t"
        "vldmia %[seed], {s12-s15}\n\t"
        "cmp %[pairs], #0\n\t"
        "beq 2f\n"
        "1:\n\t"
        "vldmia %[a0]!, {s16-s17}\n\t"
        "vldmia %[a1]!, {s18-s19}\n\t"
        "vldmia %[a2]!, {s20-s21}\n\t"
        "vldmia %[a3]!, {s22-s23}\n\t"
        "vldmia %[b], {s24-s27}\n\t"
        "add %[b], %[b], %[ldb4]\n\t"
        MF_FMA_TILE("s16", "s18", "s20", "s22")
        "vldmia %[b], {s24-s27}\n\t"
        "add %[b], %[b], %[ldb4]\n\t"
        MF_FMA_TILE("s17", "s19", "s21", "s23")
        "subs %[pairs], %[pairs], #1\n\t"
        "bne 1b\n"
        "2:\n\t"
        "cmp %[odd], #0\n\t"
        "beq 3f\n\t"
        "vldmia %[a0]!, {s16}\n\t"
        "vldmia %[a1]!, {s18}\n\t"
        "vldmia %[a2]!, {s20}\n\t"
        "vldmia %[a3]!, {s22}\n\t"
        "vldmia %[b], {s24-s27}\n\t"
        MF_FMA_TILE("s16", "s18", "s20", "s22")
        "3:\n\t"
        "vstmia %[c], {s0-s3}\n\t"
        "add %[c], %[c], %[ldc4]\n\t"
        "vstmia %[c], {s4-s7}\n\t"
        "add %[c], %[c], %[ldc4]\n\t"
        "vstmia %[c], {s8-s11}\n\t"
        "add %[c], %[c], %[ldc4]\n\t"
        "vstmia %[c], {s12-s15}"
        : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [b] "+r"(b), [c] "+r"(c),
          [pairs] "+r"(pairs)
        : [seed] "r"(seed), [odd] "r"(odd), [ldb4] "r"(ldb4), [ldc4] "r"(ldc4)
        : "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "s12", "s13",
          "s14", "s15", "s16", "s17", "s18", "s19", "s20", "s21", "s22", "s23", "s24", "s25", "s26",
          "s27", "cc", "memory");
}
#else
static void outer_4x4(const float *a, int32_t lda, const float *b, int32_t ldb, float *c,
                      int32_t ldc, int32_t k, const float *bias)
{
    const float *a0 = a, *a1 = a + lda, *a2 = a + 2 * lda, *a3 = a + 3 * lda;
    const float s0 = bias ? bias[0] : 0.0f, s1 = bias ? bias[1] : 0.0f;
    const float s2 = bias ? bias[2] : 0.0f, s3 = bias ? bias[3] : 0.0f;
    float p0 = s0, p1 = s1, p2 = s2, p3 = s3, q0 = s0, q1 = s1, q2 = s2, q3 = s3;
    float r0 = s0, r1 = s1, r2 = s2, r3 = s3, t0 = s0, t1 = s1, t2 = s2, t3 = s3;
    MF_UNROLL4
    for (int32_t p = 0; p < k; ++p) {
        const float b0 = b[0], b1 = b[1], b2 = b[2], b3 = b[3];
        const float x0 = a0[p], x1 = a1[p], x2 = a2[p], x3 = a3[p];
        b += ldb;
        FMA4(p, x0);
        FMA4(q, x1);
        FMA4(r, x2);
        FMA4(t, x3);
    }
    STORE4(c, p);
    STORE4(c + ldc, q);
    STORE4(c + 2 * ldc, r);
    STORE4(c + 3 * ldc, t);
}
#endif

static void outer_1x4(const float *a, const float *b, int32_t ldb, float *c, int32_t k,
                      const float *bias)
{
    float p0 = bias ? bias[0] : 0.0f, p1 = bias ? bias[1] : 0.0f;
    float p2 = bias ? bias[2] : 0.0f, p3 = bias ? bias[3] : 0.0f;
    MF_UNROLL4
    for (int32_t p = 0; p < k; ++p) {
        const float b0 = b[0], b1 = b[1], b2 = b[2], b3 = b[3];
        const float x0 = a[p];
        b += ldb;
        FMA4(p, x0);
    }
    STORE4(c, p);
}

/* Single rows: token-chain blocks of 1 (where the planner has no room for 4 tokens' scratch)
 * and row tails take a 1 x 8 outer tile (outer_1x8). Attention with one query row (q_block 1,
 * the planner's choice where the attention sits at the arena's peak and 4 rows of scores do
 * not fit) runs its own row path (attend_row): the 4 x 4 tiles would run at 1 x 4 there, and at
 * small head dims (8 in most MCU ViTs) the scores, exps and PV are all per-key work:
 * - QK^T keeps 8 query values in registers and reads each key's 8 values with one VLDM
 *   (qk_row8 below), so a key costs ~11 instructions for 8 MACs, not ~3 per MAC;
 * - the softmax's scale rides on the exp's argument, and its 1/sum is applied to the dh outputs
 *   instead of the n_kv probabilities;
 * - PV is a 1 x 8 outer product (outer_1x8): one VLDM per value row. */
#if defined(__ARM_ARCH_7EM__) && defined(__ARM_FP) && (__ARM_FP & 4)
#define MF_QK_KEY(acc, r0, r1, r2, r3, r4, r5, r6, r7)                                          \
    "vmul.f32 " acc ", s16, " r0 "\n\tvfma.f32 " acc ", s17, " r1 "\n\t"                       \
    "vfma.f32 " acc ", s18, " r2 "\n\tvfma.f32 " acc ", s19, " r3 "\n\t"                       \
    "vfma.f32 " acc ", s20, " r4 "\n\tvfma.f32 " acc ", s21, " r5 "\n\t"                       \
    "vfma.f32 " acc ", s22, " r6 "\n\tvfma.f32 " acc ", s23, " r7 "\n\t"

#define MF_QK_MAX(acc) "vcmp.f32 " acc ", s4\n\tvmrs APSR_nzcv, fpscr\n\tit gt\n\tvmovgt.f32 s4, " acc "\n\t"

/* s[j] = q[0..8) . k[j * ldk + 0..8) for j < n (qk_row8_add: s[j] += it, for head dims > 8);
 * returns the largest s[j] written (tracked in s4: 4 instructions a key, M4-safe, where a
 * separate pass costs 6). */
#define MF_QK_ROW8(NAME, ADD2, ADD1)                                                                   \
    __attribute__((noinline)) static float NAME(const float *q, const float *k, int32_t ldk, float *s, \
                                                int32_t n)                                             \
    {                                                                                                  \
        int32_t pairs = n >> 1;                                                                        \
        const int32_t odd = n & 1, ldk4 = ldk * 4;                                                     \
        const float lowest = -INFINITY;                                                                \
        float mx;                                                                                      \
        __asm__ volatile(                                                                              \
            "vldmia %[q], {s16-s23}\n\t"                                                               \
            "vldr s4, [%[lowest]]\n\t"                                                                 \
            "cmp %[pairs], #0\n\t"                                                                     \
            "beq 2f\n"                                                                                 \
            "1:\n\t"                                                                                   \
            "vldmia %[k], {s24-s31}\n\t"                                                               \
            "add %[k], %[k], %[ldk4]\n\t"                                                              \
            "vldmia %[k], {s8-s15}\n\t"                                                                \
            "add %[k], %[k], %[ldk4]\n\t"                                                              \
            MF_QK_KEY("s0", "s24", "s25", "s26", "s27", "s28", "s29", "s30", "s31")                    \
            MF_QK_KEY("s1", "s8", "s9", "s10", "s11", "s12", "s13", "s14", "s15")                      \
            ADD2                                                                                       \
            MF_QK_MAX("s0") MF_QK_MAX("s1")                                                            \
            "vstmia %[s]!, {s0-s1}\n\t"                                                                \
            "subs %[pairs], %[pairs], #1\n\t"                                                          \
            "bne 1b\n"                                                                                 \
            "2:\n\t"                                                                                   \
            "cmp %[odd], #0\n\t"                                                                       \
            "beq 3f\n\t"                                                                               \
            "vldmia %[k], {s24-s31}\n\t"                                                               \
            MF_QK_KEY("s0", "s24", "s25", "s26", "s27", "s28", "s29", "s30", "s31")                    \
            ADD1                                                                                       \
            MF_QK_MAX("s0")                                                                            \
            "vstmia %[s], {s0}\n"                                                                      \
            "3:\n\t"                                                                                   \
            "vstr s4, [%[mx]]"                                                                         \
            : [k] "+r"(k), [s] "+r"(s), [pairs] "+r"(pairs)                                            \
            : [q] "r"(q), [odd] "r"(odd), [ldk4] "r"(ldk4), [lowest] "r"(&lowest), [mx] "r"(&mx)       \
            : "s0", "s1", "s2", "s3", "s4", "s8", "s9", "s10", "s11", "s12", "s13", "s14", "s15",     \
              "s16", "s17", "s18", "s19", "s20", "s21", "s22", "s23", "s24", "s25", "s26", "s27", "s28", \
              "s29", "s30", "s31", "cc", "memory");                                                    \
        return mx;                                                                                     \
    }
MF_QK_ROW8(qk_row8, "", "")
MF_QK_ROW8(qk_row8_add, "vldmia %[s], {s2-s3}\n\tvadd.f32 s0, s0, s2\n\tvadd.f32 s1, s1, s3\n\t",
           "vldmia %[s], {s2}\n\tvadd.f32 s0, s0, s2\n\t")

/* c[0..8) = bias[0..8) (NULL: 0) + sum_p a[p] * b[p * ldb + 0..8): two p steps per iteration,
 * accumulators s0-s7. */
__attribute__((noinline)) static void outer_1x8(const float *a, const float *b, int32_t ldb, float *c, int32_t k,
                                                const float *bias)
{
    int32_t pairs = k >> 1;
    const int32_t odd = k & 1, ldb4 = ldb * 4;
    const float zero[8] = {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f};
    const float *seed = bias ? bias : zero;
    __asm__ volatile(
        "vldmia %[seed], {s0-s7}\n\t"
        "cmp %[pairs], #0\n\t"
        "beq 2f\n"
        "1:\n\t"
        "vldmia %[a]!, {s16-s17}\n\t"
        "vldmia %[b], {s24-s31}\n\t"
        "add %[b], %[b], %[ldb4]\n\t"
        "vldmia %[b], {s8-s15}\n\t"
        "add %[b], %[b], %[ldb4]\n\t"
        MF_FMA_ROW("s0", "s1", "s2", "s3", "s16")
        "vfma.f32 s4, s16, s28\n\tvfma.f32 s5, s16, s29\n\tvfma.f32 s6, s16, s30\n\tvfma.f32 s7, s16, s31\n\t"
        "vfma.f32 s0, s17, s8\n\tvfma.f32 s1, s17, s9\n\tvfma.f32 s2, s17, s10\n\tvfma.f32 s3, s17, s11\n\t"
        "vfma.f32 s4, s17, s12\n\tvfma.f32 s5, s17, s13\n\tvfma.f32 s6, s17, s14\n\tvfma.f32 s7, s17, s15\n\t"
        "subs %[pairs], %[pairs], #1\n\t"
        "bne 1b\n"
        "2:\n\t"
        "cmp %[odd], #0\n\t"
        "beq 3f\n\t"
        "vldmia %[a], {s16}\n\t"
        "vldmia %[b], {s24-s31}\n\t"
        MF_FMA_ROW("s0", "s1", "s2", "s3", "s16")
        "vfma.f32 s4, s16, s28\n\tvfma.f32 s5, s16, s29\n\tvfma.f32 s6, s16, s30\n\tvfma.f32 s7, s16, s31\n"
        "3:\n\t"
        "vstmia %[c], {s0-s7}"
        : [a] "+r"(a), [b] "+r"(b), [pairs] "+r"(pairs)
        : [seed] "r"(seed), [odd] "r"(odd), [ldb4] "r"(ldb4), [c] "r"(c)
        : "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "s12", "s13", "s14",
          "s15", "s16", "s17", "s24", "s25", "s26", "s27", "s28", "s29", "s30", "s31", "cc", "memory");
}
#else
static float qk_row8_any(const float *q, const float *k, int32_t ldk, float *s, int32_t n, int32_t add)
{
    float mx = -INFINITY;
    for (int32_t j = 0; j < n; ++j) {
        const float *kj = k + j * ldk;
        float acc = add ? s[j] : 0.0f;
        for (int32_t e = 0; e < 8; ++e) acc = MF_FMA(q[e], kj[e], acc);
        s[j] = acc;
        mx = acc > mx ? acc : mx;
    }
    return mx;
}

static float qk_row8(const float *q, const float *k, int32_t ldk, float *s, int32_t n)
{
    return qk_row8_any(q, k, ldk, s, n, 0);
}

static float qk_row8_add(const float *q, const float *k, int32_t ldk, float *s, int32_t n)
{
    return qk_row8_any(q, k, ldk, s, n, 1);
}

static void outer_1x8(const float *a, const float *b, int32_t ldb, float *c, int32_t k, const float *bias)
{
    float acc[8];
    for (int32_t e = 0; e < 8; ++e) acc[e] = bias ? bias[e] : 0.0f;
    for (int32_t p = 0; p < k; ++p)
        for (int32_t e = 0; e < 8; ++e) acc[e] = MF_FMA(a[p], b[p * ldb + e], acc[e]);
    for (int32_t e = 0; e < 8; ++e) c[e] = acc[e];
}
#endif

/* C[m][n] = bias (per column, may be NULL) + A[m][k] B[k][n]. */
static void outer(const float *a, int32_t lda, const float *b, int32_t ldb, float *c, int32_t ldc,
                  int32_t m, int32_t n, int32_t k, const float *bias)
{
    const int32_t m4 = m & ~3, n4 = n & ~3;
    for (int32_t i = 0; i < m4; i += 4)
        for (int32_t j = 0; j < n4; j += 4)
            outer_4x4(a + i * lda, lda, b + j, ldb, c + i * ldc + j, ldc, k, bias ? bias + j : NULL);
    const int32_t n8 = n & ~7; /* single rows (blocks of 1, tails): 1 x 8 tiles, then 1 x 4 */
    for (int32_t i = m4; i < m; ++i) {
        for (int32_t j = 0; j < n8; j += 8)
            outer_1x8(a + i * lda, b + j, ldb, c + i * ldc + j, k, bias ? bias + j : NULL);
        for (int32_t j = n8; j < n4; j += 4)
            outer_1x4(a + i * lda, b + j, ldb, c + i * ldc + j, k, bias ? bias + j : NULL);
    }
    for (int32_t i = 0; i < m; ++i) /* columns beyond a multiple of 4 */
        for (int32_t j = n4; j < n; ++j) {
            float acc = bias ? bias[j] : 0.0f;
            for (int32_t p = 0; p < k; ++p) acc = MF_FMA(a[i * lda + p], b[p * ldb + j], acc);
            c[i * ldc + j] = acc;
        }
}

/* ---------------------------------------------------------------- dot-product tiles */

static void dot_4x4(const float *a, int32_t lda, const float *b, int32_t ldb, float *c, int32_t ldc,
                    int32_t k, float scale)
{
    const float *a0 = a, *a1 = a + lda, *a2 = a + 2 * lda, *a3 = a + 3 * lda;
    const float *e0 = b, *e1 = b + ldb, *e2 = b + 2 * ldb, *e3 = b + 3 * ldb;
    float p0 = 0.0f, p1 = 0.0f, p2 = 0.0f, p3 = 0.0f, q0 = 0.0f, q1 = 0.0f, q2 = 0.0f, q3 = 0.0f;
    float r0 = 0.0f, r1 = 0.0f, r2 = 0.0f, r3 = 0.0f, t0 = 0.0f, t1 = 0.0f, t2 = 0.0f, t3 = 0.0f;
    MF_UNROLL4
    for (int32_t p = 0; p < k; ++p) {
        const float b0 = e0[p], b1 = e1[p], b2 = e2[p], b3 = e3[p];
        const float x0 = a0[p], x1 = a1[p], x2 = a2[p], x3 = a3[p];
        FMA4(p, x0);
        FMA4(q, x1);
        FMA4(r, x2);
        FMA4(t, x3);
    }
    p0 *= scale, p1 *= scale, p2 *= scale, p3 *= scale, q0 *= scale, q1 *= scale, q2 *= scale;
    q3 *= scale, r0 *= scale, r1 *= scale, r2 *= scale, r3 *= scale, t0 *= scale, t1 *= scale;
    t2 *= scale, t3 *= scale;
    STORE4(c, p);
    STORE4(c + ldc, q);
    STORE4(c + 2 * ldc, r);
    STORE4(c + 3 * ldc, t);
}

/* C[m][n] = scale * A[m][k] B[n][k]^T. */
static void dot(const float *a, int32_t lda, const float *b, int32_t ldb, float *c, int32_t ldc,
                int32_t m, int32_t n, int32_t k, float scale)
{
    const int32_t m4 = m & ~3, n4 = n & ~3;
    for (int32_t i = 0; i < m4; i += 4)
        for (int32_t j = 0; j < n4; j += 4)
            dot_4x4(a + i * lda, lda, b + j * ldb, ldb, c + i * ldc + j, ldc, k, scale);
    for (int32_t i = 0; i < m; ++i)
        for (int32_t j = i < m4 ? n4 : 0; j < n; ++j) {
            const float *ai = a + i * lda, *bj = b + j * ldb;
            float acc = 0.0f;
            for (int32_t p = 0; p < k; ++p) acc = MF_FMA(ai[p], bj[p], acc);
            c[i * ldc + j] = acc * scale;
        }
}

/* ---------------------------------------------------------------- exp and GELU */

/* The library's erff and expf cost about 100 instructions a call here, as much as 60 MACs:
 * in a ViT's MLP (one GELU per hidden value) and softmax (one exp per score) that would be a
 * third of the run. These are branch-free and about 20 instructions. */

typedef union {
    float f;
    uint32_t u;
} mf_bits;
/* exp(x) for x <= 0 (softmax after subtracting the row maximum): x = (n + j/64) ln2 + r with
 * |r| <= ln2/128, exp(x) = 2^n 2^(j/64) (1 + r + r^2/2): the table holds 2^(j/64) (exactly
 * rounded), the polynomial's error is below r^3/6 = 2.6e-8, so the relative error stays below
 * 2e-7; 0 below -87. About 20 instructions: a Taylor polynomial accurate over |r| <= ln2/2
 * needs degree 6, and VFMA overwrites its addend, so each Horner step costs a register copy. */
static const uint32_t exp2_64[64] = {
    0x3F800000u, 0x3F8164D2u, 0x3F82CD87u, 0x3F843A29u, 0x3F85AAC3u, 0x3F871F62u, 0x3F88980Fu, 0x3F8A14D5u,
    0x3F8B95C2u, 0x3F8D1ADFu, 0x3F8EA43Au, 0x3F9031DCu, 0x3F91C3D3u, 0x3F935A2Bu, 0x3F94F4F0u, 0x3F96942Du,
    0x3F9837F0u, 0x3F99E046u, 0x3F9B8D3Au, 0x3F9D3EDAu, 0x3F9EF532u, 0x3FA0B051u, 0x3FA27043u, 0x3FA43516u,
    0x3FA5FED7u, 0x3FA7CD94u, 0x3FA9A15Bu, 0x3FAB7A3Au, 0x3FAD583Fu, 0x3FAF3B79u, 0x3FB123F6u, 0x3FB311C4u,
    0x3FB504F3u, 0x3FB6FD92u, 0x3FB8FBAFu, 0x3FBAFF5Bu, 0x3FBD08A4u, 0x3FBF179Au, 0x3FC12C4Du, 0x3FC346CDu,
    0x3FC5672Au, 0x3FC78D75u, 0x3FC9B9BEu, 0x3FCBEC15u, 0x3FCE248Cu, 0x3FD06334u, 0x3FD2A81Eu, 0x3FD4F35Bu,
    0x3FD744FDu, 0x3FD99D16u, 0x3FDBFBB8u, 0x3FDE60F5u, 0x3FE0CCDFu, 0x3FE33F89u, 0x3FE5B907u, 0x3FE8396Au,
    0x3FEAC0C7u, 0x3FED4F30u, 0x3FEFE4BAu, 0x3FF28177u, 0x3FF5257Du, 0x3FF7D0DFu, 0x3FFA83B3u, 0x3FFD3E0Cu,
};

static inline float exp_nonpos(float x)
{
    x = x < -87.0f ? -87.0f : x;
    const float shifter = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
    const float t = MF_FMA(x, 92.3324826f, shifter); /* 64 / ln2 */
    mf_bits n = {.f = t};
    const float nf = t - shifter;
    float r = MF_FMA(nf, -0.0108304247f, x); /* ln2 / 64 in two parts */
    r = MF_FMA(nf, 2.97602238e-11f, r);
    const float p = r * MF_FMA(r, 0.5f, 1.0f);
    /* 2^(n >> 6) onto the table's exponent: the shifter's own bits leave through the shift */
    mf_bits scale = {.u = exp2_64[n.u & 63u] + ((n.u & ~63u) << 17)};
    return MF_FMA(scale.f, p, scale.f);
}

/* GELU (erf form) from a table of cubic pieces (gelu_table_f32.inc): index, fraction, 4 loads
 * and 3 FMAs, about 20 instructions where the rational erf approximation took ~45 (its
 * Horner steps each need a register copy, and a division). Error < 1e-7 * max(1, |x|);
 * GELU(x) is x beyond 6 and 0 below -6 in float. */
#include "gelu_table_f32.inc"

static inline float gelu(float x)
{
    if (x >= 6.0f) return x;
    if (!(x >= -6.0f)) return x < -6.0f ? 0.0f : x; /* NaN stays NaN */
    const float u = MF_FMA(x, 16.0f, 96.0f);        /* (x + 6) * 16 in [0, 192) */
    const int32_t i = (int32_t)u;
    const float t = u - (float)i;
    const float *c = gelu_tab[i < 191 ? i : 191];
    return MF_FMA(t, MF_FMA(t, MF_FMA(t, c[3], c[2]), c[1]), c[0]);
}

/* ---------------------------------------------------------------- token chain */

static void act_block(const mf_act *act, float *y, int32_t n)
{
    if (act->kind == MF_ACT_NONE) return;
    if (act->kind == MF_ACT_RELU) {
        for (int32_t j = 0; j < n; ++j) y[j] = y[j] > 0.0f ? y[j] : 0.0f;
        return;
    }
    if (act->kind == MF_ACT_GELU) {
        for (int32_t j = 0; j < n; ++j) y[j] = gelu(y[j]);
        return;
    }
    for (int32_t j = 0; j < n; ++j) y[j] = mf_act_apply_f32(act, y[j]);
}

#include "layernorm_row_f32.inc"

static void layernorm_row(const mf_token_step *st, const float *x, float *y)
{
    mf_ln_row_f32(x, st->gamma, st->beta, y, st->in_w, st->eps, NULL, NULL);
}

int mf_token_chain_f32_dsp(const float *x, const float *residual, float *y, float *scratch,
                           const mf_token_chain_desc *d)
{
    if (!x || !y || !scratch || !d || d->n_steps < 1 || d->n_steps > MF_MAX_TOKEN_STEPS) return MF_EARG;
    for (int32_t s = 1; s < d->n_steps; ++s)
        if (d->steps[s].in_w != d->steps[s - 1].out_w) return MF_ESHAPE;
    const int32_t in_w = d->steps[0].in_w, out_w = d->steps[d->n_steps - 1].out_w;
    const int32_t block = d->block > 1 ? d->block : 1;
    const int32_t half = mf_token_chain_scratch_floats(d) / 2;
    for (int32_t t0 = 0; t0 < d->tokens; t0 += block) {
        const int32_t nb = d->tokens - t0 < block ? d->tokens - t0 : block;
        const float *src = x + t0 * in_w; /* nb rows, contiguous at every step */
        float *buf = scratch;
        for (int32_t s = 0; s < d->n_steps; ++s) {
            const mf_token_step *st = &d->steps[s];
            if (st->kind == MF_STEP_LINEAR) {
                outer(src, st->in_w, st->w, st->out_w, buf, st->out_w, nb, st->out_w, st->in_w, st->b);
                act_block(&st->act, buf, nb * st->out_w);
            } else if (st->kind == MF_STEP_LAYERNORM) {
                for (int32_t r = 0; r < nb; ++r) layernorm_row(st, src + r * st->in_w, buf + r * st->in_w);
            } else {
                for (int32_t j = 0; j < nb * st->out_w; ++j) buf[j] = mf_act_apply_f32(&st->act, src[j]);
            }
            src = buf;
            buf = (buf == scratch) ? scratch + half : scratch;
        }
        /* The block's input rows are all read: its output rows may land on them. */
        float *dst = y + t0 * out_w;
        const int32_t n = nb * out_w;
        if (residual) {
            const float *r = residual + t0 * out_w;
            for (int32_t j = 0; j < n; ++j) dst[j] = r[j] + src[j];
        } else {
            for (int32_t j = 0; j < n; ++j) dst[j] = src[j];
        }
    }
    return MF_OK;
}

/* ---------------------------------------------------------------- attention */

/* Rows of scores and masks: a row whose every score is -inf (masked entirely) has no
 * softmax; it gives zeros, as the bias reference kernel. */
static void softmax_row(float *s, int32_t n)
{
    float mx = s[0];
    for (int32_t j = 1; j < n; ++j) mx = s[j] > mx ? s[j] : mx;
    if (mx == -INFINITY) {
        for (int32_t j = 0; j < n; ++j) s[j] = 0.0f;
        return;
    }
    float sum = 0.0f;
    for (int32_t j = 0; j < n; ++j) {
        s[j] = exp_nonpos(s[j] - mx);
        sum += s[j];
    }
    const float inv = 1.0f / sum;
    for (int32_t j = 0; j < n; ++j) s[j] *= inv;
}

/* exp(scale * (s[j] - mx)) over the row in place; returns their sum. */
static float exp_row(float *s, int32_t n, float scale, float mx)
{
    const float shift = -scale * mx;
    float sum = 0.0f;
    for (int32_t j = 0; j < n; ++j) {
        s[j] = exp_nonpos(MF_FMA(s[j], scale, shift));
        sum += s[j];
    }
    return sum;
}

/* The exponentials of a row (exp_row) fused with the first 8 columns of PV (outer_1x8): each
 * probability goes from the exp straight into the 8 FMAs, and is stored back for the columns
 * beyond 8. 36 instructions a key where the two loops take ~40 (in asm because GCC spills the
 * 8 accumulators next to the exp's constants). Same arithmetic as exp_nonpos. Returns the
 * sum; acc[0..8) = sum_j p_j v[j * ldv + 0..8). */
#if defined(__ARM_ARCH_7EM__) && defined(__ARM_FP) && (__ARM_FP & 4)
__attribute__((noinline)) static float exp_pv8(float *s, int32_t n, float scale, float mx, const float *v,
                                               int32_t ldv, float *acc)
{
    /* buf: 8 zeros (then the accumulators), the sum, then the constants loaded into s16-s24 */
    float buf[18] = {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f,
                     scale, -scale * mx, -87.0f, 92.3324826f, 12582912.0f, -0.0108304247f, 2.97602238e-11f,
                     0.5f, 1.0f};
    const int32_t ldv4 = ldv * 4;
    const uint32_t mask = 0xFF800000u; /* (~63) << 17: the exponent step of n >> 6 */
    uint32_t t1, t2;
    __asm__ volatile(
        "vldmia %[buf], {s0-s7}\n\t"
        "vldr s25, [%[buf], #32]\n\t"
        "add %[t1], %[buf], #36\n\t"
        "vldmia %[t1], {s16-s24}\n"
        "1:\n\t"
        "vldr s26, [%[s]]\n\t"
        "vmov.f32 s27, s17\n\t"
        "vfma.f32 s27, s26, s16\n\t"   /* x = scale * s - scale * mx */
        "vcmp.f32 s27, s18\n\t"
        "vmrs APSR_nzcv, fpscr\n\t"
        "it lt\n\t"
        "vmovlt.f32 s27, s18\n\t"      /* x >= -87 */
        "vmov.f32 s28, s20\n\t"
        "vfma.f32 s28, s27, s19\n\t"   /* t = shifter + x * 64 / ln2 */
        "vmov %[t1], s28\n\t"
        "vsub.f32 s28, s28, s20\n\t"   /* nf */
        "vfma.f32 s27, s28, s21\n\t"
        "vfma.f32 s27, s28, s22\n\t"   /* r = x - nf * ln2 / 64 */
        "vmov.f32 s29, s24\n\t"
        "vfma.f32 s29, s27, s23\n\t"
        "vmul.f32 s29, s29, s27\n\t"   /* p = r + r^2 / 2 */
        "and %[t2], %[t1], #63\n\t"
        "ldr %[t2], [%[tab], %[t2], lsl #2]\n\t"
        "and %[t1], %[mask], %[t1], lsl #17\n\t"
        "add %[t1], %[t1], %[t2]\n\t"
        "vmov s30, %[t1]\n\t"          /* 2^(n / 64) */
        "vfma.f32 s30, s30, s29\n\t"   /* e */
        "vadd.f32 s25, s25, s30\n\t"
        "vstmia %[s]!, {s30}\n\t"
        "vldmia %[v], {s8-s15}\n\t"
        "add %[v], %[v], %[ldv4]\n\t"
        "vfma.f32 s0, s30, s8\n\tvfma.f32 s1, s30, s9\n\tvfma.f32 s2, s30, s10\n\tvfma.f32 s3, s30, s11\n\t"
        "vfma.f32 s4, s30, s12\n\tvfma.f32 s5, s30, s13\n\tvfma.f32 s6, s30, s14\n\tvfma.f32 s7, s30, s15\n\t"
        "subs %[n], %[n], #1\n\t"
        "bne 1b\n\t"
        "vstmia %[buf], {s0-s7}\n\t"
        "vstr s25, [%[buf], #32]"
        : [s] "+r"(s), [v] "+r"(v), [n] "+r"(n), [t1] "=&r"(t1), [t2] "=&r"(t2)
        : [buf] "r"(buf), [ldv4] "r"(ldv4), [tab] "r"(exp2_64), [mask] "r"(mask)
        : "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "s12", "s13", "s14",
          "s15", "s16", "s17", "s18", "s19", "s20", "s21", "s22", "s23", "s24", "s25", "s26", "s27", "s28",
          "s29", "s30", "cc", "memory");
    for (int32_t e = 0; e < 8; ++e) acc[e] = buf[e];
    return buf[8];
}
#else
static float exp_pv8(float *s, int32_t n, float scale, float mx, const float *v, int32_t ldv, float *acc)
{
    const float sum = exp_row(s, n, scale, mx);
    outer_1x8(s, v, ldv, acc, n, NULL);
    return sum;
}
#endif

/* One query row, one head: o[0..dh) = softmax(scale * qi K^T [+ bias row]) V, scores in
 * s[0..n_kv), dh values of acc. */
static void attend_row(const float *qi, const float *k, int32_t ldk, const float *v, int32_t ldv, const float *bias,
                       float *o, float *s, float *acc, const mf_attention_desc *d)
{
    const int32_t n = d->n_kv, dh = d->dh, dh8 = dh & ~7;
    float hi = -INFINITY; /* max of the scores, from the last 8-wide chunk */
    for (int32_t e = 0; e < dh8; e += 8)
        hi = e ? qk_row8_add(qi + e, k + e, ldk, s, n) : qk_row8(qi, k, ldk, s, n);
    if (dh8 < dh)
        for (int32_t j = 0; j < n; ++j) {
            const float *kj = k + j * ldk;
            float a = dh8 ? s[j] : 0.0f;
            for (int32_t e = dh8; e < dh; ++e) a = MF_FMA(qi[e], kj[e], a);
            s[j] = a;
        }
    float scale = d->scale;
    if (bias) { /* the biased scores are the softmax's arguments: scale 1 from here */
        for (int32_t j = 0; j < n; ++j) s[j] = MF_FMA(s[j], scale, bias[j]);
        scale = 1.0f;
    }
    /* the largest scaled score is scale * max (scale > 0, 1/sqrt(dh) from every exporter) or
     * scale * min (a negative scale) */
    float mx = s[0];
    if (scale >= 0.0f && dh8 == dh && !bias)
        mx = hi;
    else if (scale >= 0.0f)
        for (int32_t j = 1; j < n; ++j) mx = s[j] > mx ? s[j] : mx;
    else
        for (int32_t j = 1; j < n; ++j) mx = s[j] < mx ? s[j] : mx;
    if (mx == -INFINITY) { /* masked entirely */
        for (int32_t e = 0; e < dh; ++e) o[e] = 0.0f;
        return;
    }
    const float inv = 1.0f / (dh8 ? exp_pv8(s, n, scale, mx, v, ldv, acc) : exp_row(s, n, scale, mx));
    for (int32_t e = 8; e < dh8; e += 8) outer_1x8(s, v + e, ldv, acc + e, n, NULL);
    if (dh8 < dh) outer(s, n, v + dh8, ldv, acc + dh8, 0, 1, dh - dh8, n, NULL);
    for (int32_t e = 0; e < dh; ++e) o[e] = acc[e] * inv;
}

#define MF_ATTENTION_ROW_DH 16

/* bias: NULL, or [bias_heads][n_q][n_kv] added to the scaled scores (mf_attention_bias.h) */
static int attend(const float *q, const float *k, const float *v, const float *bias, int32_t bias_heads, float *out,
                  float *scratch, const mf_attention_desc *d)
{
    if (!q || !k || !v || !out || !scratch || !d || d->n_kv < 1 || d->dh < 1) return MF_EARG;
    const int32_t rows = d->q_block > 1 ? d->q_block : 1, n = d->n_kv;
    /* Up to 16 columns per head the query-row path beats the 4 x 4 tiles even with room for 4
     * rows (65 keys, 4 heads on the M7: dh 8 3.65 vs 4.48, dh 16 2.84 vs 3.07 instructions per
     * MAC; even at dh 32); toolchain/ops/transformer.py then plans no 4-row scratch. */
    if (rows == 1 || d->dh <= MF_ATTENTION_ROW_DH) {
        for (int32_t b = 0; b < d->batch; ++b)
            for (int32_t i = 0; i < d->n_q; ++i)
                for (int32_t h = 0; h < d->heads; ++h) {
                    const int32_t col = h * d->dh;
                    const float *bi = bias ? bias + ((bias_heads == 1 ? 0 : h) * d->n_q + i) * n : NULL;
                    /* q's row/head block is read into registers before the output overwrites it */
                    attend_row(q + (b * d->n_q + i) * d->q_stride + col, k + b * n * d->k_stride + col,
                               d->k_stride, v + b * n * d->v_stride + col, d->v_stride, bi,
                               out + (b * d->n_q + i) * d->out_stride + col, scratch, scratch + n, d);
                }
        return MF_OK;
    }
    for (int32_t b = 0; b < d->batch; ++b) {
        const float *qb = q + b * d->n_q * d->q_stride;
        const float *kb = k + b * n * d->k_stride;
        const float *vb = v + b * n * d->v_stride;
        float *ob = out + b * d->n_q * d->out_stride;
        for (int32_t i0 = 0; i0 < d->n_q; i0 += rows) {
            const int32_t nr = d->n_q - i0 < rows ? d->n_q - i0 : rows;
            for (int32_t h = 0; h < d->heads; ++h) {
                const int32_t col = h * d->dh;
                dot(qb + i0 * d->q_stride + col, d->q_stride, kb + col, d->k_stride, scratch, n, nr, n, d->dh,
                    d->scale);
                if (bias) {
                    const float *bh = bias + ((bias_heads == 1 ? 0 : h) * d->n_q + i0) * n;
                    for (int32_t j = 0; j < nr * n; ++j) scratch[j] += bh[j];
                }
                for (int32_t r = 0; r < nr; ++r) softmax_row(scratch + r * n, n);
                /* q's block for this head is consumed: the output block may overwrite it. */
                outer(scratch, n, vb + col, d->v_stride, ob + i0 * d->out_stride + col, d->out_stride, nr, d->dh, n,
                      NULL);
            }
        }
    }
    return MF_OK;
}

int mf_attention_f32_dsp(const float *q, const float *k, const float *v, float *out, float *scratch,
                         const mf_attention_desc *d)
{
    return attend(q, k, v, NULL, 0, out, scratch, d);
}

int mf_attention_bias_f32_dsp(const float *q, const float *k, const float *v, const float *bias, int32_t bias_heads,
                              float *out, float *scratch, const mf_attention_desc *d)
{
    if (!bias || !d || (bias_heads != 1 && bias_heads != d->heads)) return MF_EARG;
    return attend(q, k, v, bias, bias_heads, out, scratch, d);
}

/* ---------------------------------------------------------------- patch embedding */

#include "patch_embed_f32_dsp.inc"
