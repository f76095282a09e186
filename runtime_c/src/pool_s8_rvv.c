/* int8 average pooling for RISC-V vector (RVV 1.0). The global average (one output per
 * channel, the window the whole map, no padding: the last pooling of ResNet-8 and DS-CNN)
 * sums each channel plane a vector at a time: bytes widened to int16 (vsext), then
 * vwredsum into an int32 sum that is carried from vector to vector; any other window takes
 * the reference kernel. Same rounding as the reference (ties to even, mf_int8.h). */
#include "mf_int8.h"

#if defined(__riscv_vector)
#include <riscv_vector.h>

int mf_avgpool_s8_rvv(const int8_t *x, int8_t *y, const mf_pool_s8_desc *d)
{
    if (!x || !y || !d || !d->rq.mult || !d->rq.shift || d->h_out != 1 || d->w_out != 1 ||
        d->k_h != d->h_in || d->k_w != d->w_in || d->pad_top != 0 || d->pad_left != 0)
        return mf_avgpool_s8_ref(x, y, d);
    const int32_t hw = d->h_in * d->w_in, base = -d->in_zp * hw;
    for (int32_t c = 0; c < d->n * d->c; ++c, x += hw) {
        vint32m1_t s = __riscv_vmv_s_x_i32m1(base, 1); /* sum of (x - in_zp) over the plane */
        for (int32_t i = 0; i < hw;) {
            const size_t vl = __riscv_vsetvl_e8m1((size_t)(hw - i));
            const vint16m2_t v = __riscv_vsext_vf2_i16m2(__riscv_vle8_v_i8m1(x + i, vl), vl);
            s = __riscv_vwredsum_vs_i16m2_i32m1(v, s, vl);
            i += (int32_t)vl;
        }
        const int32_t acc = __riscv_vmv_x_s_i32m1_i32(s);
        y[c] = mf_clamp_s8(d->rq.out_zp + mf_requant_even(acc, d->rq.mult[0], d->rq.shift[0]),
                           d->rq.act_min, d->rq.act_max);
    }
    return MF_OK;
}
#endif
