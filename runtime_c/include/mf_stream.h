/* mcuforge runtime: streamed image input (mf_model_run_rows in the generated model.h).
 *
 * The first op of a streamed model (the patch-embedding conv, or a first conv) reads the image
 * through a band: the kernel-height rows one output row needs, in the NCHW layout the kernel
 * reads ([c][band_h][w]). Between output rows the band moves down by the op's stride: rows it
 * keeps are moved up, new rows are asked for with the caller's callback, one image row at a
 * time in increasing order (rows no output depends on are never asked for). */
#ifndef MF_STREAM_H
#define MF_STREAM_H

#include <stdint.h>

#include "mf_f16.h"
#include "mf_types.h"

/* Fills row[] with image row y (0 <= y < h): the model input's layout restricted to one row,
 * so w * c values, channel-interleaved ([w][c]) for an NHWC input, channel-major ([c][w]) for
 * an NCHW one. Returns 0, or a nonzero status the model returns as is. */
typedef int (*mf_row_f32_fn)(void *user, int32_t y, float *row);
typedef int (*mf_row_s8_fn)(void *user, int32_t y, int8_t *row);
typedef int (*mf_row_u8_fn)(void *user, int32_t y, uint8_t *row);

typedef struct {
    int32_t c, h, w; /* the image */
    int32_t band_h;  /* rows one output row reads: (kernel_h - 1) * dilation_h + 1 */
    int32_t stride;  /* rows the band moves down per output row */
    int32_t pad_top; /* rows above the image the first band starts at (read as `pad`) */
    int32_t nhwc;    /* 1: a row from the callback is [w][c]; 0: [c][w] */
    int32_t pad;     /* value of rows outside the image: 0, or an int8 input's zero point */
} mf_band_desc;

/* The kernels (prototypes generated below):
 *   mf_band_advance_<dtype>_ref(next_row, user, step, row, band, d) moves the band to output
 *   row `step` (0, 1, ... in order; step 0 fills it whole); row is w * c elements of the
 *   caller's scratch, band c * band_h * w. f32, s8: rows and band of that type; u8: a uint8
 *   image into the int8 band the int8 first op reads, each value minus 128 (exact); f16: an
 *   FP16 build's float rows into its FP16 band, each value rounded once.
 *   mf_stream_cls_<dtype>_ref(cls, pos, out, dim): the class-token row of a streamed patch
 *   embedding, out[0:dim] = cls + pos[0:dim] (either may be NULL); the band calls write the
 *   patch tokens, this the row before them. */

/* PROTOS_BEGIN: generated from toolchain/ops/kernel_table.py by `make protos`; do not edit */
int mf_band_advance_f32_ref(mf_row_f32_fn next_row, void *user, int32_t step, float *row,
                            float *band, const mf_band_desc *d);
int mf_band_advance_s8_ref(mf_row_s8_fn next_row, void *user, int32_t step, int8_t *row,
                           int8_t *band, const mf_band_desc *d);
int mf_band_advance_u8_ref(mf_row_u8_fn next_row, void *user, int32_t step, uint8_t *row,
                           int8_t *band, const mf_band_desc *d);
int mf_stream_cls_f32_ref(const float *cls, const float *pos, float *out, int32_t dim);
#if defined(__FLT16_MAX__)
int mf_band_advance_f16_ref(mf_row_f32_fn next_row, void *user, int32_t step, float *row,
                            mf_f16 *band, const mf_band_desc *d);
int mf_stream_cls_f16_ref(const mf_f16 *cls, const mf_f16 *pos, mf_f16 *out, int32_t dim);
#endif
/* PROTOS_END */

#endif
