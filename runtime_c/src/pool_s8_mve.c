/* int8 average pooling for Helium (Cortex-M55 MVE). The global average (one output per
 * channel, the window the whole map, no padding: the last pooling of ResNet-8 and DS-CNN)
 * sums each channel plane with VADDVA.S8, 16 bytes per instruction, the tail predicated;
 * any other window takes the reference kernel. Same rounding as the reference (ties to
 * even, mf_int8.h). */
#include "mf_int8.h"

#if defined(__ARM_FEATURE_MVE)
#include <arm_mve.h>

int mf_avgpool_s8_mve(const int8_t *x, int8_t *y, const mf_pool_s8_desc *d)
{
    if (!x || !y || !d || !d->rq.mult || !d->rq.shift || d->h_out != 1 || d->w_out != 1 ||
        d->k_h != d->h_in || d->k_w != d->w_in || d->pad_top != 0 || d->pad_left != 0)
        return mf_avgpool_s8_ref(x, y, d);
    const int32_t hw = d->h_in * d->w_in, base = -d->in_zp * hw;
    for (int32_t c = 0; c < d->n * d->c; ++c, x += hw) {
        int32_t acc = base; /* sum of (x - in_zp) over the plane */
        for (int32_t i = 0; i < hw; i += 16) {
            const mve_pred16_t p = vctp8q((uint32_t)(hw - i));
            acc = vaddvaq_p_s8(acc, vldrbq_z_s8(x + i, p), p);
        }
        y[c] = mf_clamp_s8(d->rq.out_zp + mf_requant_even(acc, d->rq.mult[0], d->rq.shift[0]),
                           d->rq.act_min, d->rq.act_max);
    }
    return MF_OK;
}
#endif
