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

/* ---------------------------------------------------------------- tiled drivers
 * The portable micro-kernel (FP32 accumulation) and the shared drivers of the SIMD kernels.
 * The declarations below repeat mf_train.h on purpose: the runtime file scanner
 * (toolchain/codegen/emit.py) finds a function's file by a declaration at column 0, and the
 * definitions come from the template header. */
int mf_conv2d_bwd_input_im2col_f32(const float *dy, const float *w, float *dx,
                                   const mf_conv2d_desc *d, float *scratch, int32_t cols,
                                   mf_bwd_tile_f32_fn tile);
int mf_conv2d_bwd_weight_im2col_f32(const float *x, const float *dy, float *dw, float *db,
                                    const mf_conv2d_desc *d, float *scratch, int32_t cols,
                                    mf_bwd_tile_f32_fn tile);
int mf_gemm_bwd_input_tiled_f32(const float *dy, const float *w, float *dx,
                                const mf_gemm_bwd_input_desc *d, mf_bwd_tile_f32_fn tile);
int mf_gemm_bwd_weight_tiled_f32(const float *a, const float *dy, float *dw, float *dc,
                                 const mf_gemm_bwd_weight_desc *d, mf_bwd_tile_f32_fn tile);

void mf_bwd_tile_f32_ref(MF_BWD_TILE_ARGS(float))
{
    for (int32_t i = 0; i < m; ++i)
        for (int32_t j = 0; j < n; ++j) {
            float acc = 0.0f;
            for (int32_t p = 0; p < k; ++p) acc += (float)a[i * a_rs + p * a_cs] * (float)b[p * b_rs + j * b_cs];
            float *o = c + i * c_rs + j;
            *o = (float)(alpha * acc + (accumulate ? (float)*o : 0.0f));
        }
}

#define MF_T float
#define SFX(name) name##_f32
#include "mf_train_tiled.h"
