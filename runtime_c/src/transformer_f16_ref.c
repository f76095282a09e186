/* Integrated transformer operators, FP16 storage, FP32 arithmetic (see mf_f16.h; body:
 * transformer_ref.inc). */
#include "mf_f16.h"
#include "mf_transformer.h"

int32_t mf_token_chain_scratch_f16(const mf_token_chain_desc_f16 *d)
{
    int32_t widest = 0;
    for (int32_t s = 0; s < d->n_steps; ++s) {
        if (d->steps[s].in_w > widest) widest = d->steps[s].in_w;
        if (d->steps[s].out_w > widest) widest = d->steps[s].out_w;
    }
    const int32_t block = d->block > 1 ? d->block : 1;
    return 2 * block * widest; /* elements, as mf_token_chain_scratch_floats */
}

#define MF_T mf_f16
#define MF_REF(op) op##_f16_ref
#define MF_TC_STEP mf_token_step_f16
#define MF_TC_DESC mf_token_chain_desc_f16
#define MF_TC_SCRATCH mf_token_chain_scratch_f16
#include "transformer_ref.inc"
