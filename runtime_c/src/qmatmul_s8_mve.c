/* int8 MatMul of two activations for Helium (mf_int8_vit.h). B as [k][n] (QK^T after its
 * Transpose, AV): 8 outputs of a row at a time, each step one B row slice widened to int16
 * lanes minus b_zp, multiplied by the scalar a - a_zp into two int32x4 accumulators
 * (VMLA); the n tail by VCTP predication. B as [n][k]: dot products along k on 8 int16
 * lanes (VMLADAVA), the k tail predicated. Exact int32 sums: bit-exact with _ref. */
#include "mf_int8_vit.h"

#if defined(__ARM_FEATURE_MVE)
#include <arm_mve.h>

#include "qmatmul_s8_row.inc"

static void mf_matmul_row_kn(const int8_t *ar, const int8_t *bm, int8_t *yr, const mf_matmul_s8_desc *d)
{
    for (int32_t j = 0; j < d->n; j += 8) {
        const int32_t left = d->n - j;
        const mve_pred16_t p16 = vctp16q((uint32_t)left);
        int32x4_t lo = vdupq_n_s32(0), hi = vdupq_n_s32(0);
        for (int32_t t = 0; t < d->k; ++t) {
            const int16x8_t bv = vsubq_x_n_s16(vldrbq_z_s16(bm + (size_t)t * mf_matmul_s8_ldb(d) + j, p16), (int16_t)d->b_zp, p16);
            const int32_t av = ar[t] - d->a_zp;
            lo = vmlaq_n_s32(lo, vmovlbq_s16(bv), av);  /* even lanes: outputs j, j+2, ... */
            hi = vmlaq_n_s32(hi, vmovltq_s16(bv), av);  /* odd lanes */
        }
        int32_t acc[8];
        vst1q_s32(acc, lo);
        vst1q_s32(acc + 4, hi);
        for (int32_t q = 0; q < 8 && q < left; ++q) yr[j + q] = mf_matmul_s8_out(acc[(q & 1) * 4 + q / 2], d);
    }
}

static void mf_matmul_row_nk(const int8_t *ar, const int8_t *bm, int8_t *yr, const mf_matmul_s8_desc *d)
{
    for (int32_t j = 0; j < d->n; ++j) {
        const int8_t *br = bm + (size_t)j * mf_matmul_s8_ldb(d);
        int32_t acc = 0;
        for (int32_t t = 0; t < d->k; t += 8) {
            const mve_pred16_t p = vctp16q((uint32_t)(d->k - t));
            const int16x8_t av = vsubq_x_n_s16(vldrbq_z_s16(ar + t, p), (int16_t)d->a_zp, p);
            const int16x8_t bv = vsubq_x_n_s16(vldrbq_z_s16(br + t, p), (int16_t)d->b_zp, p);
            acc = vmladavaq_p_s16(acc, av, bv, p);
        }
        yr[j] = mf_matmul_s8_out(acc, d);
    }
}

int mf_matmul_s8_mve(const int8_t *a, const int8_t *b, int8_t *y, const mf_matmul_s8_desc *d)
{
    return mf_matmul_s8_rows(a, b, y, d, mf_matmul_row_nk, mf_matmul_row_kn);
}
#endif
