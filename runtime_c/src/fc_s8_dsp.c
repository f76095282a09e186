/* int8 fully connected layer for Cortex-M4/M7 with the DSP extension: the activation rows
 * are widened once into the int16 panel of mf_gemm_s8_dsp (MF_S8_COLS_DSP rows at a time)
 * and every weight row runs the SMLAD tile over them. With one activation row (the usual
 * case) each weight is used once, so the cost is bound by the weight stream: LDR + 2 SXTB16
 * + 2 SMLAD per four MACs. */
#include "mf_int8_simd.h"

int32_t mf_fc_s8_dsp_scratch_bytes(const mf_fc_s8_desc *d)
{
    const int32_t rows = d->m < MF_S8_COLS_DSP ? d->m : MF_S8_COLS_DSP;
    return rows * mf_s8_k4(d->k) * (int32_t)sizeof(int16_t);
}

#if defined(__ARM_FEATURE_DSP)

int mf_fc_s8_dsp(const int8_t *a, const int8_t *w, const int32_t *bias, int8_t *y,
                 const mf_fc_s8_desc *d, void *scratch)
{
    if (!mf_s8_fc_args_ok(a, w, y, d) || !scratch) return MF_EARG;
    const int32_t k4 = mf_s8_k4(d->k);
    int16_t *panel = (int16_t *)scratch;
    for (int32_t m0 = 0; m0 < d->m; m0 += MF_S8_COLS_DSP) {
        const int32_t nm = d->m - m0 < MF_S8_COLS_DSP ? d->m - m0 : MF_S8_COLS_DSP;
        for (int32_t j = 0; j < nm; ++j) {
            const int8_t *ar = a + (m0 + j) * d->k;
            for (int32_t kk = 0; kk < k4; ++kk)
                panel[mf_s8_panel_dsp_at(j, kk, nm, k4)] = (int16_t)(kk < d->k ? ar[kk] : 0);
        }
        mf_gemm_s8_dsp(w, d->k, d->n, panel, nm, 0, bias, y + m0 * d->n, 1, d->n, &d->rq, 0);
    }
    return MF_OK;
}
#endif
