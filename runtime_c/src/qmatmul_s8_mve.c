/* int8 MatMul of two activations for Helium (mf_int8_vit.h). The zero points leave the
 * inner loops (row sums instead), so B is read as stored. B as [k][n] (AV, QK^T after its
 * Transpose): 16 outputs of a row at a time, VMLA of B row slices (VLDRB.S32) by the scalar
 * a - a_zp into four int32x4 accumulators. B as [n][k]: four dot products along k per
 * pass sharing A's loads, 16 int8 products per VMLADAVA (the zeroing tail loads make the
 * sums unpredicated). Tails by VCTP predication. Exact int32 sums: bit-exact with
 * _ref. */
#include "mf_int8_simd.h"
#include "mf_int8_vit.h"

#if defined(__ARM_FEATURE_MVE)
#include <arm_mve.h>

#include "qmatmul_s8_row.inc"

/* B as [k][n]: sum_t (a_t - a_zp) * (b_tj - b_zp) = sum_t (a_t - a_zp) * b_tj - b_zp * sum_t
 * (a_t - a_zp), so B is read as it is: 16 outputs at a time in four int32x4 accumulators,
 * each step four VLDRB.S32 of a B row slice and four VMLA by the scalar a_t - a_zp; the n
 * tail predicated (VCTP32) in a last pass. Every partial sum is exact modulo 2^32 and the
 * result fits int32 (k <= 33000), so the sum is the reference's. */
static void mf_matmul_row_kn(const int8_t *ar, const int8_t *bm, int8_t *yr, const mf_matmul_s8_desc *d)
{
    const mf_s8_rq_ch rq = mf_s8_rq_prepare(&d->rq, 0); /* the requantisation prepared once per row */
    const int32_t n = d->n, k = d->k, ldb = mf_matmul_s8_ldb(d), za = d->a_zp;
    int32_t asum = 0;
    for (int32_t t = 0; t < k; ++t) asum += ar[t] - za;
    const int32_t corr = d->b_zp * asum;
    int32_t acc[16];
    for (int32_t j = 0; j < n; j += 16) {
        int32x4_t s0 = vdupq_n_s32(0), s1 = s0, s2 = s0, s3 = s0;
        const int8_t *bp = bm + j;
        if (j + 16 <= n) {
            for (int32_t t = 0; t < k; ++t, bp += ldb) {
                const int32_t av = ar[t] - za;
                s0 = vmlaq_n_s32(s0, vldrbq_s32(bp), av);
                s1 = vmlaq_n_s32(s1, vldrbq_s32(bp + 4), av);
                s2 = vmlaq_n_s32(s2, vldrbq_s32(bp + 8), av);
                s3 = vmlaq_n_s32(s3, vldrbq_s32(bp + 12), av);
            }
        } else {
            const int32_t left = n - j;
            const mve_pred16_t p0 = vctp32q((uint32_t)left), p1 = vctp32q((uint32_t)(left > 4 ? left - 4 : 0));
            const mve_pred16_t p2 = vctp32q((uint32_t)(left > 8 ? left - 8 : 0));
            const mve_pred16_t p3 = vctp32q((uint32_t)(left > 12 ? left - 12 : 0));
            for (int32_t t = 0; t < k; ++t, bp += ldb) {
                const int32_t av = ar[t] - za;
                s0 = vmlaq_n_s32(s0, vldrbq_z_s32(bp, p0), av);
                s1 = vmlaq_n_s32(s1, vldrbq_z_s32(bp + 4, p1), av);
                s2 = vmlaq_n_s32(s2, vldrbq_z_s32(bp + 8, p2), av);
                s3 = vmlaq_n_s32(s3, vldrbq_z_s32(bp + 12, p3), av);
            }
        }
        vst1q_s32(acc, s0);
        vst1q_s32(acc + 4, s1);
        vst1q_s32(acc + 8, s2);
        vst1q_s32(acc + 12, s3);
        for (int32_t q = 0; q < 16 && j + q < n; ++q) yr[j + q] = mf_s8_rq_apply(acc[q] - corr, &rq);
    }
}

/* B as [n][k]: sum (a - a_zp)(b - b_zp) = sum ab - a_zp sum b - b_zp sum a + k a_zp b_zp, so
 * both rows are read as they are: 16 int8 products per VMLADAVA and B's row sum by VADDVA
 * beside it; the k tail predicated (VCTP8). Exact modulo 2^32, the result fits int32: the
 * reference's sum. */
static void mf_matmul_row_nk(const int8_t *ar, const int8_t *bm, int8_t *yr, const mf_matmul_s8_desc *d)
{
    const mf_s8_rq_ch rq = mf_s8_rq_prepare(&d->rq, 0); /* the requantisation prepared once per row */
    const int32_t k = d->k, ldb = mf_matmul_s8_ldb(d), za = d->a_zp, zb = d->b_zp;
    int32_t asum = 0;
    for (int32_t t = 0; t < k; ++t) asum += ar[t];
    const int32_t base = k * za * zb - zb * asum;
    int32_t j = 0;
    for (; j + 4 <= d->n; j += 4) { /* four columns share each load of A */
        const int8_t *b0 = bm + (size_t)j * ldb, *b1 = b0 + ldb, *b2 = b1 + ldb, *b3 = b2 + ldb;
        int32_t ab0 = 0, ab1 = 0, ab2 = 0, ab3 = 0, bs0 = 0, bs1 = 0, bs2 = 0, bs3 = 0;
        for (int32_t t = 0; t < k; t += 16) {
            const mve_pred16_t p = vctp8q((uint32_t)(k - t));
            const int8x16_t av = vldrbq_z_s8(ar + t, p);
            int8x16_t bv = vldrbq_z_s8(b0 + t, p);
            ab0 = vmladavaq_s8(ab0, av, bv); /* lanes past the tail are 0 in both */
            bs0 = vaddvaq_s8(bs0, bv);
            bv = vldrbq_z_s8(b1 + t, p);
            ab1 = vmladavaq_s8(ab1, av, bv);
            bs1 = vaddvaq_s8(bs1, bv);
            bv = vldrbq_z_s8(b2 + t, p);
            ab2 = vmladavaq_s8(ab2, av, bv);
            bs2 = vaddvaq_s8(bs2, bv);
            bv = vldrbq_z_s8(b3 + t, p);
            ab3 = vmladavaq_s8(ab3, av, bv);
            bs3 = vaddvaq_s8(bs3, bv);
        }
        yr[j] = mf_s8_rq_apply(ab0 - za * bs0 + base, &rq);
        yr[j + 1] = mf_s8_rq_apply(ab1 - za * bs1 + base, &rq);
        yr[j + 2] = mf_s8_rq_apply(ab2 - za * bs2 + base, &rq);
        yr[j + 3] = mf_s8_rq_apply(ab3 - za * bs3 + base, &rq);
    }
    for (; j < d->n; ++j) {
        const int8_t *br = bm + (size_t)j * ldb;
        int32_t ab = 0, bsum = 0;
        for (int32_t t = 0; t < k; t += 16) {
            const mve_pred16_t p = vctp8q((uint32_t)(k - t));
            const int8x16_t bv = vldrbq_z_s8(br + t, p);
            ab = vmladavaq_s8(ab, vldrbq_z_s8(ar + t, p), bv);
            bsum = vaddvaq_s8(bsum, bv);
        }
        yr[j] = mf_s8_rq_apply(ab - za * bsum + base, &rq);
    }
}

int mf_matmul_s8_mve(const int8_t *a, const int8_t *b, int8_t *y, const mf_matmul_s8_desc *d)
{
    return mf_matmul_s8_rows(a, b, y, d, mf_matmul_row_nk, mf_matmul_row_kn);
}
#endif
