/* Data movement: one strided, index-mapped copy serves Transpose, Slice, Gather, Pad,
 * Concat, Split, Expand and Tile. */
#ifndef MF_COPY_H
#define MF_COPY_H

#include "mf_types.h"

/* For every output coordinate (i0..i{rank-1}) of `shape`:
 *   c_d = index[d] ? index[d][i_d] : i_d       (input coordinate; < 0 means "fill")
 *   y[out_offset + sum i_d * out_stride[d]] = any c_d < 0 ? fill
 *                                           : x[in_offset + sum c_d * in_stride[d]]   */
typedef struct {
    int32_t rank;
    int32_t shape[MF_MAX_RANK];
    int32_t in_stride[MF_MAX_RANK];
    int32_t out_stride[MF_MAX_RANK];
    const int32_t *index[MF_MAX_RANK];
    int32_t in_offset;
    int32_t out_offset;
    float fill;
} mf_copy_desc;


/* PROTOS_BEGIN: generated from toolchain/ops/kernel_table.py by `make protos`; do not edit */
int mf_copy_f32_ref(const float *x, float *y, const mf_copy_desc *d);
int mf_copy_s8_ref(const int8_t *x, int8_t *y, const mf_copy_desc *d);
#if defined(__FLT16_MAX__)
int mf_copy_f16_ref(const mf_f16 *x, mf_f16 *y, const mf_copy_desc *d);
#endif
/* PROTOS_END */

#endif
