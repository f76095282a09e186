/* int8 MatMul of two activations for Cortex-M4/M7 with the DSP extension (mf_int8_vit.h).
 * B is read as it is stored: b_zp's share, b_zp * sum(a - a_zp), is one product per row.
 * B as [k][n] (AV, QK^T after its Transpose): 4 outputs of a row at a time; per k one LDR
 * of b[t][j..j+3], SXTB16 (and with ROR #8) give (b0, b2) and (b1, b3) as int16 pairs, and
 * SMLABB/SMLABT multiply them by the scalar a - a_zp (|.| <= 255 fits int16) into four
 * int32 sums (eight columns per pass measured the same: GCC spills), the last n % 4
 * columns one at a time. B as [n][k]: four dot
 * products along k per pass, A's four values per step widened and shifted once for the
 * four, SMLAD. Exact int32 sums: bit-exact with _ref. */
#include "mf_int8_simd.h"
#include "mf_int8_vit.h"

#if defined(__ARM_FEATURE_DSP)
#include <arm_acle.h>
#include <string.h>

#include "qmatmul_s8_row.inc"

static inline uint32_t ld32(const int8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4); /* LDR: unaligned loads are fine on v7E-M */
    return v;
}

/* SXTB16 with its ROR #8 (bytes 1 and 3): GCC 12's arm_acle.h has no __ror */
static inline uint32_t sxtb16_ror8(uint32_t v)
{
    uint32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return r;
}

static inline uint32_t pair(int32_t z) { return ((uint32_t)(uint16_t)z << 16) | (uint16_t)z; }

/* sum_t (a_t - a_zp)(b_t - b_zp) = sum_t (a_t - a_zp) b_t - b_zp sum_t (a_t - a_zp): B is
 * read as it is stored, and the second term is one product per row. Exact modulo 2^32, and
 * the result fits int32 (k <= 33000): the reference's sum. */
static int32_t a_sum(const int8_t *ar, int32_t k, int32_t za)
{
    int32_t s = 0;
    for (int32_t t = 0; t < k; ++t) s += ar[t] - za;
    return s;
}

/* four columns j..j+3 of B as [k][n], as SMLABB/SMLABT sums of the scalar a_t - a_zp */
#define KN_STEP4(w, av, s0, s1, s2, s3)                 \
    do {                                                \
        const uint32_t e_ = __sxtb16(w);                \
        const uint32_t o_ = sxtb16_ror8(w);             \
        s0 = __smlabb(av, (int32_t)e_, s0);             \
        s2 = __smlabt(av, (int32_t)e_, s2);             \
        s1 = __smlabb(av, (int32_t)o_, s1);             \
        s3 = __smlabt(av, (int32_t)o_, s3);             \
    } while (0)

static void mf_matmul_row_kn(const int8_t *ar, const int8_t *bm, int8_t *yr, const mf_matmul_s8_desc *d)
{
    const mf_s8_rq_ch rq = mf_s8_rq_prepare(&d->rq, 0); /* the requantisation prepared once per row */
    const int32_t n = d->n, k = d->k, ldb = mf_matmul_s8_ldb(d), za = d->a_zp;
    const int32_t corr = d->b_zp * a_sum(ar, k, za);
    int32_t j = 0;
    for (; j + 4 <= n; j += 4) {
        int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        const int8_t *bp = bm + j;
        for (int32_t t = 0; t < k; ++t, bp += ldb) {
            const int32_t av = ar[t] - za;
            const uint32_t w0 = ld32(bp);
            KN_STEP4(w0, av, s0, s1, s2, s3);
        }
        yr[j] = mf_s8_rq_apply(s0 - corr, &rq);
        yr[j + 1] = mf_s8_rq_apply(s1 - corr, &rq);
        yr[j + 2] = mf_s8_rq_apply(s2 - corr, &rq);
        yr[j + 3] = mf_s8_rq_apply(s3 - corr, &rq);
    }
    for (; j < n; ++j) {
        int32_t s = 0;
        for (int32_t t = 0; t < k; ++t) s += (ar[t] - za) * bm[(size_t)t * ldb + j];
        yr[j] = mf_s8_rq_apply(s - corr, &rq);
    }
}

/* B as [n][k]: four columns per pass over A's row; per four k, A's word as two int16 pairs
 * minus a_zp (SXTB16, SSUB16) shared by the four columns, and per column one LDR and two
 * SXTB16 of B as it is stored and two SMLAD. */
static void mf_matmul_row_nk(const int8_t *ar, const int8_t *bm, int8_t *yr, const mf_matmul_s8_desc *d)
{
    const mf_s8_rq_ch rq = mf_s8_rq_prepare(&d->rq, 0); /* the requantisation prepared once per row */
    const int32_t k = d->k, k4 = k & ~3, n = d->n, ldb = mf_matmul_s8_ldb(d), za = d->a_zp;
    const uint32_t zap = pair(za);
    const int32_t corr = d->b_zp * a_sum(ar, k, za);
    int32_t j = 0;
    for (; j + 4 <= n; j += 4) {
        const int8_t *b0 = bm + (size_t)j * ldb, *b1 = b0 + ldb, *b2 = b1 + ldb, *b3 = b2 + ldb;
        int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (int32_t t = 0; t < k4; t += 4) {
            const uint32_t a = ld32(ar + t);
            const uint32_t ae = __ssub16(__sxtb16(a), zap), ao = __ssub16(sxtb16_ror8(a), zap);
            uint32_t w = ld32(b0 + t);
            s0 = (int32_t)__smlad(ae, __sxtb16(w), __smlad(ao, sxtb16_ror8(w), (uint32_t)s0));
            w = ld32(b1 + t);
            s1 = (int32_t)__smlad(ae, __sxtb16(w), __smlad(ao, sxtb16_ror8(w), (uint32_t)s1));
            w = ld32(b2 + t);
            s2 = (int32_t)__smlad(ae, __sxtb16(w), __smlad(ao, sxtb16_ror8(w), (uint32_t)s2));
            w = ld32(b3 + t);
            s3 = (int32_t)__smlad(ae, __sxtb16(w), __smlad(ao, sxtb16_ror8(w), (uint32_t)s3));
        }
        for (int32_t t = k4; t < k; ++t) {
            const int32_t av = ar[t] - za;
            s0 += av * b0[t];
            s1 += av * b1[t];
            s2 += av * b2[t];
            s3 += av * b3[t];
        }
        yr[j] = mf_s8_rq_apply(s0 - corr, &rq);
        yr[j + 1] = mf_s8_rq_apply(s1 - corr, &rq);
        yr[j + 2] = mf_s8_rq_apply(s2 - corr, &rq);
        yr[j + 3] = mf_s8_rq_apply(s3 - corr, &rq);
    }
    for (; j < n; ++j) {
        const int8_t *br = bm + (size_t)j * ldb;
        int32_t s = 0;
        for (int32_t t = 0; t < k4; t += 4) {
            const uint32_t a = ld32(ar + t), w = ld32(br + t);
            s = (int32_t)__smlad(__ssub16(__sxtb16(a), zap), __sxtb16(w), (uint32_t)s);
            s = (int32_t)__smlad(__ssub16(sxtb16_ror8(a), zap), sxtb16_ror8(w), (uint32_t)s);
        }
        for (int32_t t = k4; t < k; ++t) s += (ar[t] - za) * br[t];
        yr[j] = mf_s8_rq_apply(s - corr, &rq);
    }
}

int mf_matmul_s8_dsp(const int8_t *a, const int8_t *b, int8_t *y, const mf_matmul_s8_desc *d)
{
    return mf_matmul_s8_rows(a, b, y, d, mf_matmul_row_nk, mf_matmul_row_kn);
}
#endif
