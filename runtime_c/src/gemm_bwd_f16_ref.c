/* Matrix multiply backward, FP16 storage and FP32 accumulation (the oracle of the FP16 SIMD
 * kernels; the twin of gemm_bwd_f32_ref.c). */
#include <string.h>

#include "mf_train.h"

int mf_gemm_bwd_input_f16_ref(const mf_f16 *dy, const mf_f16 *w, mf_f16 *dx,
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
        const mf_f16 *pd = dy + od, *pw = w + ow;
        mf_f16 *po = dx + oo;
        for (int32_t i = 0; i < d->m; ++i)
            for (int32_t k = 0; k < d->k; ++k) {
                const mf_f16 *dr = pd + i * d->dy_rs, *wr = pw + k * d->w_rs;
                float acc = 0.0f;
                for (int32_t j = 0; j < d->n; ++j) acc += (float)dr[j * d->dy_cs] * (float)wr[j * d->w_cs];
                po[i * d->o_rs + k * d->o_cs] = (mf_f16)(d->alpha * acc);
            }
        for (int32_t i = d->batch_rank - 1; i >= 0; --i) {
            if (++idx[i] < d->batch_shape[i]) break;
            idx[i] = 0;
        }
    }
    return MF_OK;
}

int mf_gemm_bwd_weight_f16_ref(const mf_f16 *a, const mf_f16 *dy, mf_f16 *dw, mf_f16 *dc,
                               const mf_gemm_bwd_weight_desc *d)
{
    if (!a || !dy || (!dw && !dc) || !d || d->m < 1) return MF_EARG;
    if (dw)
        for (int32_t k = 0; k < d->k; ++k)
            for (int32_t j = 0; j < d->n; ++j) {
                float acc = 0.0f;
                for (int32_t r = 0; r < d->rows; ++r)
                    acc += (float)a[r * d->a_rs + k * d->a_cs] * (float)dy[r * d->n + j];
                dw[k * d->w_ks + j * d->w_ns] = (mf_f16)(d->alpha * acc);
            }
    if (dc) {
        memset(dc, 0, sizeof(mf_f16) * (size_t)d->c_size);
        for (int32_t i = 0; i < d->m && i < d->rows; ++i)
            for (int32_t j = 0; j < d->n; ++j) {
                float acc = 0.0f;
                for (int32_t r = i; r < d->rows; r += d->m) acc += (float)dy[r * d->n + j];
                mf_f16 *p = dc + i * d->c_rs + j * d->c_cs;
                *p = (mf_f16)((float)*p + d->beta * acc);
            }
    }
    return MF_OK;
}

/* ---------------------------------------------------------------- tiled drivers
 * The portable micro-kernel (FP32 accumulation) and the shared drivers of the SIMD kernels.
 * The declarations below repeat mf_train.h on purpose: the runtime file scanner
 * (toolchain/codegen/emit.py) finds a function's file by a declaration at column 0, and the
 * definitions come from the template header. */
int mf_conv2d_bwd_input_im2col_f16(const mf_f16 *dy, const mf_f16 *w, mf_f16 *dx,
                                   const mf_conv2d_desc *d, mf_f16 *scratch, int32_t cols,
                                   mf_bwd_tile_f16_fn tile);
int mf_conv2d_bwd_weight_im2col_f16(const mf_f16 *x, const mf_f16 *dy, mf_f16 *dw, mf_f16 *db,
                                    const mf_conv2d_desc *d, mf_f16 *scratch, int32_t cols,
                                    mf_bwd_tile_f16_fn tile);
int mf_gemm_bwd_input_tiled_f16(const mf_f16 *dy, const mf_f16 *w, mf_f16 *dx,
                                const mf_gemm_bwd_input_desc *d, mf_bwd_tile_f16_fn tile);
int mf_gemm_bwd_weight_tiled_f16(const mf_f16 *a, const mf_f16 *dy, mf_f16 *dw, mf_f16 *dc,
                                 const mf_gemm_bwd_weight_desc *d, mf_bwd_tile_f16_fn tile);

void mf_bwd_tile_f16_ref(MF_BWD_TILE_ARGS(mf_f16))
{
    for (int32_t i = 0; i < m; ++i)
        for (int32_t j = 0; j < n; ++j) {
            float acc = 0.0f;
            for (int32_t p = 0; p < k; ++p) acc += (float)a[i * a_rs + p * a_cs] * (float)b[p * b_rs + j * b_cs];
            mf_f16 *o = c + i * c_rs + j;
            *o = (mf_f16)(alpha * acc + (accumulate ? (float)*o : 0.0f));
        }
}

#define MF_T mf_f16
#define SFX(name) name##_f16
#include "mf_train_tiled.h"
