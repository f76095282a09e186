/* Reductions (ReduceMean, ReduceSum, ReduceMax, ...) over arbitrary axes. */
#ifndef MF_REDUCE_H
#define MF_REDUCE_H

#include "mf_types.h"

typedef enum {
    MF_RED_SUM = 0,
    MF_RED_MEAN,
    MF_RED_MAX,
    MF_RED_MIN,
    MF_RED_PROD,
    MF_RED_SUM_SQUARE,
    MF_RED_L1,
    MF_RED_L2,
} mf_reduce_op;

/* y[o] (contiguous over out_shape) = reduce over red_shape of
 * x[sum o_d * out_stride[d] + sum r_d * red_stride[d]]. */
typedef struct {
    int32_t out_rank;
    int32_t out_shape[MF_MAX_RANK];
    int32_t out_stride[MF_MAX_RANK];
    int32_t red_rank;
    int32_t red_shape[MF_MAX_RANK];
    int32_t red_stride[MF_MAX_RANK];
    mf_reduce_op op;
} mf_reduce_desc;


/* PROTOS_BEGIN: generated from toolchain/ops/kernel_table.py by `make protos`; do not edit */
int mf_reduce_f32_ref(const float *x, float *y, const mf_reduce_desc *d);
#if defined(__FLT16_MAX__)
int mf_reduce_f16_ref(const mf_f16 *x, mf_f16 *y, const mf_reduce_desc *d);
#endif
/* PROTOS_END */

#endif
