/* General matrix multiply with batch broadcast, bias and activation. FP16 storage, FP32
 * arithmetic (see mf_f16.h). */
#include "mf_elementwise.h"
#include "mf_f16.h"
#include "mf_f16.h"

int mf_gemm_f16_ref(const mf_f16 *a, const mf_f16 *b, const mf_f16 *c, mf_f16 *y,
                    const mf_gemm_desc *d)
{
    if (!a || !b || !y || !d || d->batch_rank < 0 || d->batch_rank > MF_MAX_BATCH_RANK)
        return MF_EARG;
    int32_t batches = 1;
    for (int32_t i = 0; i < d->batch_rank; ++i) batches *= d->batch_shape[i];
    int32_t idx[MF_MAX_BATCH_RANK] = {0};
    for (int32_t bi = 0; bi < batches; ++bi) {
        int32_t oa = 0, ob = 0;
        for (int32_t i = 0; i < d->batch_rank; ++i) {
            oa += idx[i] * d->a_bstride[i];
            ob += idx[i] * d->b_bstride[i];
        }
        const mf_f16 *pa = a + oa, *pb = b + ob;
        mf_f16 *py = y + bi * d->m * d->n;
        for (int32_t i = 0; i < d->m; ++i) {
            for (int32_t j = 0; j < d->n; ++j) {
                const mf_f16 *ar = pa + i * d->a_rs, *bc = pb + j * d->b_cs;
                float acc = 0.0f;
                for (int32_t k = 0; k < d->k; ++k) acc += (float)ar[k * d->a_cs] * (float)bc[k * d->b_rs];
                float v = d->alpha * acc;
                if (c) v += d->beta * c[i * d->c_rs + j * d->c_cs];
                py[i * d->n + j] = mf_act_apply_f32(&d->act, v);
            }
        }
        for (int32_t i = d->batch_rank - 1; i >= 0; --i) {
            if (++idx[i] < d->batch_shape[i]) break;
            idx[i] = 0;
        }
    }
    return MF_OK;
}
