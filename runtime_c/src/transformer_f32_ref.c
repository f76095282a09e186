/* Integrated transformer operators, FP32 reference (body: transformer_ref.inc), and the
 * scratch sizes every variant uses (see mf_transformer.h). */
#include "mf_transformer.h"

int32_t mf_token_chain_scratch_floats(const mf_token_chain_desc *d)
{
    int32_t widest = 0;
    for (int32_t s = 0; s < d->n_steps; ++s) {
        if (d->steps[s].in_w > widest) widest = d->steps[s].in_w;
        if (d->steps[s].out_w > widest) widest = d->steps[s].out_w;
    }
    const int32_t block = d->block > 1 ? d->block : 1;
    return 2 * block * widest; /* ping-pong between two block-of-tokens-wide buffers */
}

int32_t mf_attention_scratch_floats(const mf_attention_desc *d)
{
    const int32_t rows = d->q_block > 1 ? d->q_block : 1;
    /* the rows' scores, one head's output row, and one head's K transposed (SIMD kernels) */
    return rows * d->n_kv + d->dh + (d->k_panel ? d->n_kv * d->dh : 0);
}

#define MF_T float
#define MF_REF(op) op##_f32_ref
#define MF_TC_STEP mf_token_step
#define MF_TC_DESC mf_token_chain_desc
#define MF_TC_SCRATCH mf_token_chain_scratch_floats
#include "transformer_ref.inc"
