/* Fused int8 attention, query rows in blocks (mf_int8_vit.h), through mf_matmul_s8_ref. */
#include <string.h>

#include "mf_int8_vit.h"

#define MF_ISA(op) op##_ref
#include "qattention_s8.inc"

int32_t mf_attention_s8_scratch_bytes(const mf_attention_s8_desc *d)
{
    if (!d) return 0;
    const int32_t dk = d->qk.k, dv = d->av.n;
    const int strided = (d->q_ld && d->q_ld != dk) || (d->y_ld && d->y_ld != dv);
    return d->block * (d->qk.n + (strided ? (dk > dv ? dk : dv) : 0));
}
