/* int8 MatMul of two activations for Cortex-M4/M7 with the DSP extension (mf_int8_vit.h).
 * B as [k][n] (QK^T after its Transpose, AV): 4 outputs of a row at a time; per k one LDR
 * of b[t][j..j+3], two SXTB16 and two SSUB16 give (b0, b2) and (b1, b3) minus b_zp as int16
 * pairs, and SMLABB/SMLABT multiply them by the scalar a - a_zp (|.| <= 255 fits int16)
 * into four int32 sums; the last n % 4 columns run one at a time. B as [n][k]: dot products
 * along k, four k per step, SMLAD on (a - a_zp) and (b - b_zp) pairs. Exact int32 sums:
 * bit-exact with _ref. */
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

static void mf_matmul_row_kn(const int8_t *ar, const int8_t *bm, int8_t *yr, const mf_matmul_s8_desc *d)
{
    const int32_t n = d->n, k = d->k, full = n & ~3, ldb = mf_matmul_s8_ldb(d);
    const uint32_t zb = pair(d->b_zp);
    for (int32_t j = 0; j < full; j += 4) {
        int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        const int8_t *bp = bm + j;
        for (int32_t t = 0; t < k; ++t, bp += ldb) {
            const uint32_t w = ld32(bp);
            const uint32_t e = __ssub16(__sxtb16(w), zb);           /* b0, b2 */
            const uint32_t o = __ssub16(sxtb16_ror8(w), zb); /* b1, b3 */
            const int32_t av = ar[t] - d->a_zp;
            s0 = __smlabb(av, (int32_t)e, s0);
            s2 = __smlabt(av, (int32_t)e, s2);
            s1 = __smlabb(av, (int32_t)o, s1);
            s3 = __smlabt(av, (int32_t)o, s3);
        }
        yr[j] = mf_matmul_s8_out(s0, d);
        yr[j + 1] = mf_matmul_s8_out(s1, d);
        yr[j + 2] = mf_matmul_s8_out(s2, d);
        yr[j + 3] = mf_matmul_s8_out(s3, d);
    }
    for (int32_t j = full; j < n; ++j) {
        int32_t s = 0;
        for (int32_t t = 0; t < k; ++t) s += (ar[t] - d->a_zp) * (bm[(size_t)t * ldb + j] - d->b_zp);
        yr[j] = mf_matmul_s8_out(s, d);
    }
}

static void mf_matmul_row_nk(const int8_t *ar, const int8_t *bm, int8_t *yr, const mf_matmul_s8_desc *d)
{
    const int32_t k = d->k, full = k & ~3, ldb = mf_matmul_s8_ldb(d);
    const uint32_t za = pair(d->a_zp), zb = pair(d->b_zp);
    for (int32_t j = 0; j < d->n; ++j) {
        const int8_t *br = bm + (size_t)j * ldb;
        int32_t s = 0;
        for (int32_t t = 0; t < full; t += 4) {
            const uint32_t a = ld32(ar + t), b = ld32(br + t);
            /* (a0, a2) . (b0, b2) + (a1, a3) . (b1, b3) */
            s = (int32_t)__smlad(__ssub16(__sxtb16(a), za), __ssub16(__sxtb16(b), zb), (uint32_t)s);
            s = (int32_t)__smlad(__ssub16(sxtb16_ror8(a), za), __ssub16(sxtb16_ror8(b), zb), (uint32_t)s);
        }
        for (int32_t t = full; t < k; ++t) s += (ar[t] - d->a_zp) * (br[t] - d->b_zp);
        yr[j] = mf_matmul_s8_out(s, d);
    }
}

int mf_matmul_s8_dsp(const int8_t *a, const int8_t *b, int8_t *y, const mf_matmul_s8_desc *d)
{
    return mf_matmul_s8_rows(a, b, y, d, mf_matmul_row_nk, mf_matmul_row_kn);
}
#endif
