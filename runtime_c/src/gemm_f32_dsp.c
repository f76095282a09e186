/* FP32 GEMM for cores without float SIMD (Cortex-M4/M7): a 4x4 register tile.
 *
 * What bounds it: the loads. Per k the tile reads 4 values of A (one per row) and 4 of B
 * and does 16 FMAs, so at best 1.5 instructions per MAC with 32 S registers; the compiler
 * unrolls k so the A loads use immediate offsets and the B row comes in with one VLDM.
 * MF_FMA (mf_fast.h) makes both GCC and clang emit VFMA. */
#include "mf_elementwise.h"
#include "mf_fast.h"

#if defined(__clang__)
#define MF_UNROLL_K _Pragma("clang loop unroll_count(4)")
#else
#define MF_UNROLL_K _Pragma("GCC unroll 4")
#endif

static inline float relu_if(float v, int relu)
{
    return relu && v < 0.0f ? 0.0f : v;
}

static inline void store_row(float *c, float v0, float v1, float v2, float v3, int relu)
{
    c[0] = relu_if(v0, relu);
    c[1] = relu_if(v1, relu);
    c[2] = relu_if(v2, relu);
    c[3] = relu_if(v3, relu);
}

static void tile_4x4(const float *a, int32_t lda, const float *b, int32_t ldb, float *c,
                     int32_t ldc, int32_t k, const float *bias, int relu)
{
    const float *a0 = a, *a1 = a + lda, *a2 = a + 2 * lda, *a3 = a + 3 * lda;
    const float r0 = bias ? bias[0] : 0.0f, r1 = bias ? bias[1] : 0.0f;
    const float r2 = bias ? bias[2] : 0.0f, r3 = bias ? bias[3] : 0.0f;
    float c00 = r0, c01 = r0, c02 = r0, c03 = r0, c10 = r1, c11 = r1, c12 = r1, c13 = r1,
          c20 = r2, c21 = r2, c22 = r2, c23 = r2, c30 = r3, c31 = r3, c32 = r3, c33 = r3;
    MF_UNROLL_K
    for (int32_t p = 0; p < k; ++p) {
        const float b0 = b[0], b1 = b[1], b2 = b[2], b3 = b[3];
        const float x0 = a0[p], x1 = a1[p], x2 = a2[p], x3 = a3[p];
        b += ldb;
        c00 = MF_FMA(x0, b0, c00); c01 = MF_FMA(x0, b1, c01);
        c02 = MF_FMA(x0, b2, c02); c03 = MF_FMA(x0, b3, c03);
        c10 = MF_FMA(x1, b0, c10); c11 = MF_FMA(x1, b1, c11);
        c12 = MF_FMA(x1, b2, c12); c13 = MF_FMA(x1, b3, c13);
        c20 = MF_FMA(x2, b0, c20); c21 = MF_FMA(x2, b1, c21);
        c22 = MF_FMA(x2, b2, c22); c23 = MF_FMA(x2, b3, c23);
        c30 = MF_FMA(x3, b0, c30); c31 = MF_FMA(x3, b1, c31);
        c32 = MF_FMA(x3, b2, c32); c33 = MF_FMA(x3, b3, c33);
    }
    store_row(c, c00, c01, c02, c03, relu);
    store_row(c + ldc, c10, c11, c12, c13, relu);
    store_row(c + 2 * ldc, c20, c21, c22, c23, relu);
    store_row(c + 3 * ldc, c30, c31, c32, c33, relu);
}

/* The same tile over a packed B panel (rows of exactly 4, as im2col writes them): every
 * load of an unrolled step has an immediate offset, so a step costs 8 loads + 16 FMAs. */
#define MF_STEP(o)                                                                             \
    do {                                                                                       \
        const float b0 = b[4 * (o)], b1 = b[4 * (o) + 1], b2 = b[4 * (o) + 2], b3 = b[4 * (o) + 3]; \
        const float x0 = a0[o], x1 = a1[o], x2 = a2[o], x3 = a3[o];                            \
        c00 = MF_FMA(x0, b0, c00); c01 = MF_FMA(x0, b1, c01);                                   \
        c02 = MF_FMA(x0, b2, c02); c03 = MF_FMA(x0, b3, c03);                                   \
        c10 = MF_FMA(x1, b0, c10); c11 = MF_FMA(x1, b1, c11);                                   \
        c12 = MF_FMA(x1, b2, c12); c13 = MF_FMA(x1, b3, c13);                                   \
        c20 = MF_FMA(x2, b0, c20); c21 = MF_FMA(x2, b1, c21);                                   \
        c22 = MF_FMA(x2, b2, c22); c23 = MF_FMA(x2, b3, c23);                                   \
        c30 = MF_FMA(x3, b0, c30); c31 = MF_FMA(x3, b1, c31);                                   \
        c32 = MF_FMA(x3, b2, c32); c33 = MF_FMA(x3, b3, c33);                                   \
    } while (0)

/* resume: seed the accumulators from C (a later block of k) instead of the bias. Unused where
 * the assembly tile below replaces it. */
__attribute__((unused)) static void tile_4x4_packed(const float *a, int32_t lda, const float *b, float *c, int32_t ldc,
                            int32_t k, const float *bias, int relu, int resume)
{
    const float *a0 = a, *a1 = a + lda, *a2 = a + 2 * lda, *a3 = a + 3 * lda;
    const float r0 = bias ? bias[0] : 0.0f, r1 = bias ? bias[1] : 0.0f;
    const float r2 = bias ? bias[2] : 0.0f, r3 = bias ? bias[3] : 0.0f;
    float c00 = r0, c01 = r0, c02 = r0, c03 = r0, c10 = r1, c11 = r1, c12 = r1, c13 = r1,
          c20 = r2, c21 = r2, c22 = r2, c23 = r2, c30 = r3, c31 = r3, c32 = r3, c33 = r3;
    if (resume) {
        const float *q = c;
        c00 = q[0], c01 = q[1], c02 = q[2], c03 = q[3], q += ldc;
        c10 = q[0], c11 = q[1], c12 = q[2], c13 = q[3], q += ldc;
        c20 = q[0], c21 = q[1], c22 = q[2], c23 = q[3], q += ldc;
        c30 = q[0], c31 = q[1], c32 = q[2], c33 = q[3];
    }
    int32_t p = 0;
    for (; p + 8 <= k; p += 8, a0 += 8, a1 += 8, a2 += 8, a3 += 8, b += 32) {
        MF_STEP(0);
        MF_STEP(1);
        MF_STEP(2);
        MF_STEP(3);
        MF_STEP(4);
        MF_STEP(5);
        MF_STEP(6);
        MF_STEP(7);
    }
    for (; p < k; ++p, ++a0, ++a1, ++a2, ++a3, b += 4) MF_STEP(0);
    store_row(c, c00, c01, c02, c03, relu);
    store_row(c + ldc, c10, c11, c12, c13, relu);
    store_row(c + 2 * ldc, c20, c21, c22, c23, relu);
    store_row(c + 3 * ldc, c30, c31, c32, c33, relu);
}

/* Edge rows/columns (m or n not a multiple of 4): one output at a time. */
static void edge(MF_PANEL_ARGS(float))
{
    for (int32_t i = 0; i < m; ++i)
        for (int32_t j = 0; j < n; ++j) {
            float acc = bias ? bias[i] : 0.0f;
            for (int32_t p = 0; p < k; ++p) acc = MF_FMA(a[i * lda + p], b[p * ldb + j], acc);
            c[i * ldc + j] = relu_if(acc, relu);
        }
}

#if defined(__ARM_ARCH_7EM__) && defined(__ARM_PCS_VFP) && defined(__ARM_FP) && (__ARM_FP & 4)
/* Cortex-M4/M7: the packed tile in assembly. Per k one VLDM brings the 4 B values, four
 * single-register VLDMs with writeback the 4 A values (no address arithmetic), then 16 VFMAs:
 * 21 instructions per 16 MACs, against 26.6 for GCC's code of the C tile (which loads B one
 * VLDR at a time). Accumulators live in s16-s31 for the whole loop. */
#define MF_VFP_STEP                                                                            \
    "vldmia %[b]!, {s0-s3}\n\t"                                                                \
    "vldmia %[a0]!, {s4}\n\t"                                                                  \
    "vldmia %[a1]!, {s5}\n\t"                                                                  \
    "vldmia %[a2]!, {s6}\n\t"                                                                  \
    "vldmia %[a3]!, {s7}\n\t"                                                                  \
    "vfma.f32 s16, s4, s0\n\tvfma.f32 s17, s4, s1\n\tvfma.f32 s18, s4, s2\n\tvfma.f32 s19, s4, s3\n\t" \
    "vfma.f32 s20, s5, s0\n\tvfma.f32 s21, s5, s1\n\tvfma.f32 s22, s5, s2\n\tvfma.f32 s23, s5, s3\n\t" \
    "vfma.f32 s24, s6, s0\n\tvfma.f32 s25, s6, s1\n\tvfma.f32 s26, s6, s2\n\tvfma.f32 s27, s6, s3\n\t" \
    "vfma.f32 s28, s7, s0\n\tvfma.f32 s29, s7, s1\n\tvfma.f32 s30, s7, s2\n\tvfma.f32 s31, s7, s3\n\t"
#define MF_VFP_TILE                                                                      \
    "vldmia %[seed], {s16-s31}\n\t"                                                            \
    "tst %[k], #1\n\t"                                                                         \
    "beq 2f\n\t" MF_VFP_STEP "2:\n\t"                                                          \
    "lsrs %[k], %[k], #1\n\t"                                                                  \
    "beq 3f\n"                                                                                 \
    "1:\n\t" MF_VFP_STEP MF_VFP_STEP                                                           \
    "subs %[k], %[k], #1\n\t"                                                                  \
    "bne 1b\n"                                                                                 \
    "3:\n\t"                                                                                   \
    "vstmia %[c0], {s16-s19}\n\t"                                                              \
    "vstmia %[c1], {s20-s23}\n\t"                                                              \
    "vstmia %[c2], {s24-s27}\n\t"                                                              \
    "vstmia %[c3], {s28-s31}\n\t"
#define MF_VFP_CLOBBERS                                                                        \
    "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s16", "s17", "s18", "s19", "s20", "s21",  \
        "s22", "s23", "s24", "s25", "s26", "s27", "s28", "s29", "s30", "s31", "memory", "cc"

static void tile_4x4_vfp(const float *a0, int32_t lda, const float *b, float *c, int32_t ldc,
                         int32_t k, const float *bias, int relu, int resume)
{
    const float *a1 = a0 + lda, *a2 = a1 + lda, *a3 = a2 + lda;
    float *c1 = c + ldc, *c2 = c1 + ldc, *c3 = c2 + ldc;
    /* seeds: C itself when resuming a later block of k, else the bias broadcast along rows */
    float seed[16];
    const float *src = seed;
    if (resume) {
        const float *s0 = c;
        float *d = seed;
        for (int32_t r = 0; r < 4; ++r, s0 += ldc, d += 4) d[0] = s0[0], d[1] = s0[1], d[2] = s0[2], d[3] = s0[3];
    } else if (bias) {
        for (int32_t r = 0; r < 4; ++r) seed[4 * r] = seed[4 * r + 1] = seed[4 * r + 2] = seed[4 * r + 3] = bias[r];
    } else {
        static const float zeros[16];
        src = zeros;
    }
    uint32_t kk = (uint32_t)k;
    __asm__ volatile(MF_VFP_TILE
                     : [b] "+r"(b), [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [k] "+r"(kk)
                     : [seed] "r"(src), [c0] "r"(c), [c1] "r"(c1), [c2] "r"(c2), [c3] "r"(c3)
                     : MF_VFP_CLOBBERS);
    /* ReLU in C: GCC cannot tell FPv4 (no VMAXNM) from FPv5 by macro; here it emits VMAXNM on
     * the M7 and a compare on the M4 */
    if (relu) {
        store_row(c, c[0], c[1], c[2], c[3], 1);
        store_row(c1, c1[0], c1[1], c1[2], c1[3], 1);
        store_row(c2, c2[0], c2[1], c2[2], c2[3], 1);
        store_row(c3, c3[0], c3[1], c3[2], c3[3], 1);
    }
}
#define TILE_PACKED tile_4x4_vfp
#else
#define TILE_PACKED tile_4x4_packed
#endif

/* B rows further apart than 4 (pointwise convs read the activations in place, ldb = h*w):
 * copy each 4-column strip of B, K_BLOCK rows at a time, into a packed buffer on the stack so
 * the packed tile's loads take immediate offsets. The copy costs 2 instructions per B value
 * against m/4 tile steps that read it (worth it from 8 rows). */
#define K_BLOCK 64

static MF_NO_MEMCPY void pack4(const float *b, int32_t ldb, int32_t k, float *buf)
{
    for (int32_t p = 0; p < k; ++p, b += ldb, buf += 4) {
        const float v0 = b[0], v1 = b[1], v2 = b[2], v3 = b[3];
        buf[0] = v0, buf[1] = v1, buf[2] = v2, buf[3] = v3;
    }
}

void mf_gemm_panel_f32_dsp(MF_PANEL_ARGS(float))
{
    const int32_t m4 = m & ~3, n4 = n & ~3;
    if (ldb != 4 && m4 >= 8) {
        float buf[K_BLOCK * 4];
        for (int32_t j = 0; j < n4; j += 4)
            for (int32_t p0 = 0; p0 < k; p0 += K_BLOCK) {
                const int32_t kb = k - p0 < K_BLOCK ? k - p0 : K_BLOCK;
                const int last = p0 + kb == k;
                pack4(b + p0 * ldb + j, ldb, kb, buf);
                for (int32_t i = 0; i < m4; i += 4)
                    TILE_PACKED(a + i * lda + p0, lda, buf, c + i * ldc + j, ldc, kb,
                                    bias ? bias + i : NULL, relu && last, p0 > 0);
            }
    } else {
        for (int32_t i = 0; i < m4; i += 4) {
            const float *bi = bias ? bias + i : NULL;
            for (int32_t j = 0; j < n4; j += 4) {
                if (ldb == 4) TILE_PACKED(a + i * lda, lda, b + j, c + i * ldc + j, ldc, k, bi, relu, 0);
                else tile_4x4(a + i * lda, lda, b + j, ldb, c + i * ldc + j, ldc, k, bi, relu);
            }
        }
    }
    if (n4 < n) edge(a, lda, b + n4, ldb, c + n4, ldc, m4, n - n4, k, bias, relu);
    if (m4 < m) edge(a + m4 * lda, lda, b, ldb, c + m4 * ldc, ldc, m - m4, n, k, bias ? bias + m4 : NULL, relu);
}

/* Layouts the panel cannot take (transposed A or B): plain loops, still correct. */
static void gemm_strided(const float *a, const float *b, float *y, const mf_gemm_desc *d)
{
    for (int32_t i = 0; i < d->m; ++i)
        for (int32_t j = 0; j < d->n; ++j) {
            const float *ar = a + i * d->a_rs, *bc = b + j * d->b_cs;
            float acc = 0.0f;
            for (int32_t p = 0; p < d->k; ++p) acc = MF_FMA(ar[p * d->a_cs], bc[p * d->b_rs], acc);
            y[i * d->n + j] = acc;
        }
}

int mf_gemm_f32_dsp(const float *a, const float *b, const float *c, float *y,
                    const mf_gemm_desc *d)
{
    if (!a || !b || !y || !d || d->batch_rank < 0 || d->batch_rank > MF_MAX_BATCH_RANK)
        return MF_EARG;
    int32_t batches = 1;
    for (int32_t i = 0; i < d->batch_rank; ++i) batches *= d->batch_shape[i];
    const int panel = d->a_cs == 1 && d->b_cs == 1;
    int32_t idx[MF_MAX_BATCH_RANK] = {0};
    for (int32_t bi = 0; bi < batches; ++bi) {
        int32_t oa = 0, ob = 0;
        for (int32_t i = 0; i < d->batch_rank; ++i) {
            oa += idx[i] * d->a_bstride[i];
            ob += idx[i] * d->b_bstride[i];
        }
        float *py = y + bi * d->m * d->n;
        if (panel) mf_gemm_panel_f32_dsp(a + oa, d->a_rs, b + ob, d->b_rs, py, d->n, d->m, d->n, d->k, NULL, 0);
        else gemm_strided(a + oa, b + ob, py, d);
        const int plain = d->alpha == 1.0f && !c && d->act.kind == MF_ACT_NONE;
        for (int32_t i = 0; i < d->m && !plain; ++i)
            for (int32_t j = 0; j < d->n; ++j) {
                float v = d->alpha * py[i * d->n + j];
                if (c) v += d->beta * c[i * d->c_rs + j * d->c_cs];
                py[i * d->n + j] = mf_act_apply_f32(&d->act, v);
            }
        for (int32_t i = d->batch_rank - 1; i >= 0; --i) {
            if (++idx[i] < d->batch_shape[i]) break;
            idx[i] = 0;
        }
    }
    return MF_OK;
}
