/* The Gemm driver of the FP32 vector kernels (mf_simd_f32.h): batches, then the ISA's panel,
 * then alpha, C and the activation where they are not the plain case. */
#include "mf_simd_f32.h"

int mf_gemm_by_panel_f32(const float *a, const float *b, const float *c, float *y,
                         const mf_gemm_desc *d, mf_panel_f32_fn panel)
{
    if (!a || !b || !y || !d || !panel || d->batch_rank < 0 || d->batch_rank > MF_MAX_BATCH_RANK)
        return MF_EARG;
    if (d->a_cs != 1 || d->b_cs != 1) return mf_gemm_f32_ref(a, b, c, y, d); /* transposed */
    int32_t batches = 1;
    for (int32_t i = 0; i < d->batch_rank; ++i) batches *= d->batch_shape[i];
    int32_t idx[MF_MAX_BATCH_RANK] = {0};
    const int plain = d->alpha == 1.0f && !c && d->act.kind == MF_ACT_NONE;
    for (int32_t bi = 0; bi < batches; ++bi) {
        int32_t oa = 0, ob = 0;
        for (int32_t i = 0; i < d->batch_rank; ++i) {
            oa += idx[i] * d->a_bstride[i];
            ob += idx[i] * d->b_bstride[i];
        }
        float *py = y + bi * d->m * d->n;
        panel(a + oa, d->a_rs, b + ob, d->b_rs, py, d->n, d->m, d->n, d->k, NULL, 0);
        for (int32_t i = 0; i < d->m && !plain; ++i)
            for (int32_t j = 0; j < d->n; ++j) {
                float v = d->alpha * py[i * d->n + j];
                if (c) v += d->beta * c[i * d->c_rs + j * d->c_cs];
                py[i * d->n + j] = mf_act_apply_f32(&d->act, v);
            }
        for (int32_t i = d->batch_rank - 1; i >= 0; --i) {
            if (++idx[i] < d->batch_shape[i]) break;
            idx[i] = 0;
        }
    }
    return MF_OK;
}
