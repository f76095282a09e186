/* int8 fully connected layer for Helium (Cortex-M55 MVE): weight rows and activation rows
 * are both k-contiguous int8, so every output is a VMLADAVA.S8 dot product over them
 * directly (no scratch): four weight rows per activation vector load, the k tail
 * predicated. */
#include "mf_int8_mve.h"

int32_t mf_fc_s8_mve_scratch_bytes(const mf_fc_s8_desc *d)
{
    (void)d;
    return 0;
}

#if defined(__ARM_FEATURE_MVE)
#include <arm_mve.h>

int mf_fc_s8_mve(const int8_t *a, const int8_t *w, const int32_t *bias, int8_t *y,
                 const mf_fc_s8_desc *d, void *scratch)
{
    (void)scratch;
    if (!mf_s8_fc_args_ok(a, w, y, d)) return MF_EARG;
    const int32_t k = d->k;
    for (int32_t m = 0; m < d->m; ++m, a += k, y += d->n) {
        int32_t r = 0;
        for (; r + 4 <= d->n; r += 4) {
            const int8_t *w0 = w + r * k, *w1 = w0 + k, *w2 = w1 + k, *w3 = w2 + k, *ap = a;
            int32_t s0 = bias ? bias[r] : 0, s1 = bias ? bias[r + 1] : 0;
            int32_t s2 = bias ? bias[r + 2] : 0, s3 = bias ? bias[r + 3] : 0;
            for (int32_t n = k; n > 0; n -= 16, ap += 16, w0 += 16, w1 += 16, w2 += 16, w3 += 16) {
                const mve_pred16_t p = vctp8q((uint32_t)n);
                const int8x16_t av = vldrbq_z_s8(ap, p);
                s0 = vmladavaq_p_s8(s0, av, vldrbq_z_s8(w0, p), p);
                s1 = vmladavaq_p_s8(s1, av, vldrbq_z_s8(w1, p), p);
                s2 = vmladavaq_p_s8(s2, av, vldrbq_z_s8(w2, p), p);
                s3 = vmladavaq_p_s8(s3, av, vldrbq_z_s8(w3, p), p);
            }
            y[r] = mf_s8_out(s0, &d->rq, r);
            y[r + 1] = mf_s8_out(s1, &d->rq, r + 1);
            y[r + 2] = mf_s8_out(s2, &d->rq, r + 2);
            y[r + 3] = mf_s8_out(s3, &d->rq, r + 3);
        }
        for (; r < d->n; ++r) {
            const int8_t *w0 = w + r * k, *ap = a;
            int32_t s0 = bias ? bias[r] : 0;
            for (int32_t n = k; n > 0; n -= 16, ap += 16, w0 += 16) {
                const mve_pred16_t p = vctp8q((uint32_t)n);
                s0 = vmladavaq_p_s8(s0, vldrbq_z_s8(ap, p), vldrbq_z_s8(w0, p), p);
            }
            y[r] = mf_s8_out(s0, &d->rq, r);
        }
    }
    return MF_OK;
}
#endif
