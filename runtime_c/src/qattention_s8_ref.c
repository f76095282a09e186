/* Fused int8 attention, query rows in blocks (mf_int8_vit.h), through mf_matmul_s8_ref. */
#include "mf_int8_vit.h"

#define MF_ISA(op) op##_ref
#include "qattention_s8.inc"

int32_t mf_attention_s8_scratch_bytes(const mf_attention_s8_desc *d)
{
    return d ? d->block * d->qk.n : 0;
}
