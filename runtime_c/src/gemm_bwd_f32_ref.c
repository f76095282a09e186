/* Matrix multiply backward, FP32 reference. */
#include <string.h>

#include "mf_train.h"

int mf_gemm_bwd_input_f32_ref(const float *dy, const float *w, float *dx,
                              const mf_gemm_bwd_input_desc *d)
{
    if (!dy || !w || !dx || !d || d->batch_rank < 0 || d->batch_rank > MF_MAX_BATCH_RANK)
        return MF_EARG;
    int32_t batches = 1;
    for (int32_t i = 0; i < d->batch_rank; ++i) batches *= d->batch_shape[i];
    int32_t idx[MF_MAX_BATCH_RANK] = {0};
    for (int32_t bi = 0; bi < batches; ++bi) {
        int32_t od = 0, ow = 0, oo = 0;
        for (int32_t i = 0; i < d->batch_rank; ++i) {
            od += idx[i] * d->dy_bstride[i];
            ow += idx[i] * d->w_bstride[i];
            oo += idx[i] * d->o_bstride[i];
        }
        const float *pd = dy + od, *pw = w + ow;
        float *po = dx + oo;
        for (int32_t i = 0; i < d->m; ++i) {
            for (int32_t k = 0; k < d->k; ++k) {
                const float *dr = pd + i * d->dy_rs, *wr = pw + k * d->w_rs;
                float acc = 0.0f;
                for (int32_t j = 0; j < d->n; ++j) acc += dr[j * d->dy_cs] * wr[j * d->w_cs];
                po[i * d->o_rs + k * d->o_cs] = d->alpha * acc;
            }
        }
        for (int32_t i = d->batch_rank - 1; i >= 0; --i) {
            if (++idx[i] < d->batch_shape[i]) break;
            idx[i] = 0;
        }
    }
    return MF_OK;
}

int mf_gemm_bwd_weight_f32_ref(const float *a, const float *dy, float *dw, float *dc,
                               const mf_gemm_bwd_weight_desc *d)
{
    if (!a || !dy || (!dw && !dc) || !d || d->m < 1) return MF_EARG;
    if (dw) {
        for (int32_t k = 0; k < d->k; ++k) {
            for (int32_t j = 0; j < d->n; ++j) {
                float acc = 0.0f;
                for (int32_t r = 0; r < d->rows; ++r) acc += a[r * d->a_rs + k * d->a_cs] * dy[r * d->n + j];
                dw[k * d->w_ks + j * d->w_ns] = d->alpha * acc;
            }
        }
    }
    if (dc) {
        memset(dc, 0, sizeof(float) * (size_t)d->c_size);
        for (int32_t r = 0; r < d->rows; ++r)
            for (int32_t j = 0; j < d->n; ++j)
                dc[(r % d->m) * d->c_rs + j * d->c_cs] += d->beta * dy[r * d->n + j];
    }
    return MF_OK;
}
