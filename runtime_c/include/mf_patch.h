/* mcuforge runtime: patch-based first stages (MCUNetV2), toolchain/ops/patch.py.
 *
 * A patch stage runs the first convolutions of a CNN band of output rows by band, with the
 * halo rows recomputed, so the large early feature maps only ever exist as one band. Each
 * layer of a band is the family's own conv kernel on a small contiguous [c][rows][w] tensor
 * whose descriptor takes out the padding rows the band does not touch; the bands are moved
 * with mf_copy. With a streamed input (mf_model_run_rows) the first layer's band is filled
 * from the caller's rows by mf_patch_rows_<dtype>_ref: rows two bands share are kept (moved
 * up), new ones asked for once each, in increasing order. */
#ifndef MF_PATCH_H
#define MF_PATCH_H

#include <stdint.h>

#include "mf_f16.h"
#include "mf_stream.h"
#include "mf_types.h"

typedef struct {
    int32_t c, h, w;          /* the image */
    int32_t nhwc;             /* 1: a row from the callback is [w][c]; 0: [c][w] */
    int32_t prev_a, prev_b;   /* image rows the band held before this call ([0, 0): none) */
    int32_t a, b;             /* image rows it holds after: band is [c][b - a][w] */
} mf_patch_rows_desc;

/* mf_patch_rows_<dtype>_ref(next_row, user, row, band, d): band from rows [prev_a, prev_b) to
 * [a, b) (prev_a <= a, prev_b <= b); row is c * w elements of the caller's scratch. f32/s8:
 * rows and band of that type; f16: an FP16 build's float rows, each value rounded once into
 * the FP16 band; u8: a uint8 image into the int8 band, each value minus 128 (exact). */

/* PROTOS_BEGIN: generated from toolchain/ops/kernel_table.py by `make protos`; do not edit */
int mf_patch_rows_f32_ref(mf_row_f32_fn next_row, void *user, float *row, float *band,
                          const mf_patch_rows_desc *d);
int mf_patch_rows_s8_ref(mf_row_s8_fn next_row, void *user, int8_t *row, int8_t *band,
                         const mf_patch_rows_desc *d);
int mf_patch_rows_u8_ref(mf_row_u8_fn next_row, void *user, uint8_t *row, int8_t *band,
                         const mf_patch_rows_desc *d);
#if defined(__FLT16_MAX__)
int mf_patch_rows_f16_ref(mf_row_f32_fn next_row, void *user, float *row, mf_f16 *band,
                          const mf_patch_rows_desc *d);
#endif
/* PROTOS_END */

#endif
