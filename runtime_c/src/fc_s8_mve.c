/* int8 fully connected layer for Helium (Cortex-M55 MVE): weight rows and activation rows
 * are both k-contiguous int8, so the VMLADAVA GEMM of gemm_s8_mve.c runs on them directly
 * (no scratch), the k tail predicated. */
#include "mf_int8_simd.h"

int32_t mf_fc_s8_mve_scratch_bytes(const mf_fc_s8_desc *d)
{
    (void)d;
    return 0;
}

#if defined(__ARM_FEATURE_MVE)

int mf_fc_s8_mve(const int8_t *a, const int8_t *w, const int32_t *bias, int8_t *y,
                 const mf_fc_s8_desc *d, void *scratch)
{
    (void)scratch;
    if (!mf_s8_fc_args_ok(a, w, y, d)) return MF_EARG;
    mf_gemm_s8_mve(w, d->k, d->n, a, d->k, d->m, bias, y, 1, d->n, &d->rq, 0);
    return MF_OK;
}
#endif
