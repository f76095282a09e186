/* Normalisation and softmax: rows of `cols` contiguous elements. */
#ifndef MF_NORM_H
#define MF_NORM_H

#include "mf_types.h"

/* Softmax over the axis of length `axis_len` for each (outer, inner) pair:
 * x[o * axis_len * inner + a * inner + i]. y may equal x. */
typedef struct {
    int32_t outer, axis_len, inner;
    int32_t log; /* LogSoftmax */
} mf_softmax_desc;

int mf_softmax_f32_ref(const float *x, float *y, const mf_softmax_desc *d);

/* y = (x - mean) / sqrt(var + eps) * gamma + beta over each row; gamma/beta may be NULL.
 * mean_out / rstd_out (one value per row, may be NULL) receive the row's mean and
 * 1/sqrt(var + eps): LayerNormalization's optional outputs and what a backward pass saves.
 * y may equal x. */
typedef struct {
    int32_t rows, cols;
    float eps;
} mf_layernorm_desc;

int mf_layernorm_f32_ref(const float *x, const float *gamma, const float *beta, float *y,
                         float *mean_out, float *rstd_out, const mf_layernorm_desc *d);

#endif
