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
#include <arm_acle.h>

int mf_fc_s8_dsp(const int8_t *a, const int8_t *w, const int32_t *bias, int8_t *y,
                 const mf_fc_s8_desc *d, void *scratch)
{
    if (!mf_s8_fc_args_ok(a, w, y, d) || !scratch) return MF_EARG;
    const int32_t k4 = mf_s8_k4(d->k);
    int16_t *panel = (int16_t *)scratch;
    const int32_t plain = mf_s8_rq_plain_dsp(&d->rq, 0, d->n);
    for (int32_t m0 = 0; m0 < d->m; m0 += MF_S8_COLS_DSP) {
        const int32_t nm = d->m - m0 < MF_S8_COLS_DSP ? d->m - m0 : MF_S8_COLS_DSP;
        const int32_t full = nm - nm % 6, kq = d->k >> 2;
        for (int32_t j = 0; j < nm; ++j) {
            /* four k a word: LDR, two SXTB16 and STRD give the (a0, a2), (a1, a3) pairs;
             * a column of a 6-block steps 12 words per group, a lone column 2 */
            const int8_t *ar = a + (m0 + j) * d->k;
            const int32_t step = j < full ? 12 : 2;
            uint32_t *gp = (uint32_t *)(void *)(panel + mf_s8_panel_dsp_at(j, 0, nm, k4));
            for (int32_t g = 0; g < kq; ++g, ar += 4, gp += step) {
                uint32_t v, e, o;
                memcpy(&v, ar, 4);
                e = __sxtb16(v);
                __asm__("sxtb16 %0, %1, ror #8" : "=r"(o) : "r"(v));
                gp[0] = e;
                gp[1] = o;
            }
            if (d->k & 3) { /* the last group, zero-padded, byte by byte: no read past a */
                int16_t t[4] = {0, 0, 0, 0};
                for (int32_t i = 0; i < (d->k & 3); ++i) t[i] = ar[i];
                int16_t *dst = (int16_t *)(void *)gp;
                dst[0] = t[0];
                dst[1] = t[2];
                dst[2] = t[1];
                dst[3] = t[3];
            }
        }
        /* one activation row: its outputs are contiguous, so the column stride is 1 (the
         * GEMM's fast requantisation takes only contiguous outputs) */
        mf_gemm_s8_dsp(w, d->k, d->n, panel, nm, 0, bias, y + m0 * d->n, 1, nm == 1 ? 1 : d->n,
                       &d->rq, 0, 0, plain);
    }
    return MF_OK;
}
#endif
