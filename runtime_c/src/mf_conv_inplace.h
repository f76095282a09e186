/* Private to the runtime (kernel sources only). Convolutions that may write their output over
 * an input buffer, so the memory planner can give the two one buffer (toolchain/ops/conv.py
 * declares the aliases, the plan checker re-verifies them). Each kernel is also correct when
 * the buffers are distinct.
 *
 * Overwrite (y == x): MobileNet/DS-CNN blocks.
 * - depthwise (groups == c_in == c_out, output plane no larger than the input plane):
 *   channel c is computed into one plane of scratch, then copied over channel c; the bytes
 *   it lands on belong to input channels <= c, all consumed by then.
 * - pointwise (1x1, stride 1, no padding, groups 1, and c_out <= c_in or batch 1): pixel
 *   columns [p, p + P) of every output channel are computed into a c_out x P tile from the
 *   same columns of every input channel, then written back over those columns.
 *
 * Residual (y == skip): ResNet blocks, y = act(conv(x) + skip). Each chunk of `cols` output
 * pixels is computed for every output channel into a c_out/groups x cols tile (im2col +
 * GEMM panel, as mf_fast.h), then y = act(tile + skip) for those pixels; every skip element
 * is read once, just before the same element of y is written. x must not be skip.
 *
 * Scratch comes from the caller; its size from the public *_scratch_bytes functions of
 * mf_conv.h, whose Python twins live in toolchain/ops/conv.py. */
#ifndef MF_CONV_INPLACE_H
#define MF_CONV_INPLACE_H

#include "mf_conv.h"
#include "mf_fast.h"
#include "mf_types.h"

enum { MF_OVERWRITE_NONE = 0, MF_OVERWRITE_DEPTHWISE = 1, MF_OVERWRITE_POINTWISE = 2 };

/* Which overwrite-safe schedule the shape allows (MF_OVERWRITE_NONE: none). */
int mf_conv2d_overwrite_kind(const mf_conv2d_desc *d);

/* Plain conv with the descriptor (no scratch), used per channel by the depthwise case. */
typedef int (*mf_conv_f32_fn)(const float *x, const float *w, const float *bias, float *y,
                              const mf_conv2d_desc *d);

/* The overwrite driver: plane = a conv kernel for the depthwise channels, panel = the GEMM
 * micro-kernel for the pointwise tiles, cols = P. */
int mf_conv2d_overwrite_f32(const float *x, const float *w, const float *bias, float *y,
                            float *scratch, const mf_conv2d_desc *d, mf_conv_f32_fn plane,
                            mf_panel_f32_fn panel, int32_t cols);

/* y = act(conv(x, w) + bias + skip), d->act applied after the add; y may be skip. */
int mf_conv2d_residual_f32(const float *x, const float *w, const float *bias, const float *skip,
                           float *y, float *scratch, const mf_conv2d_desc *d, int32_t cols,
                           mf_panel_f32_fn panel);

#if defined(__FLT16_MAX__)
#include "mf_f16.h"
/* FP16 storage, FP32 arithmetic: the driver as mf_conv2d_overwrite_f32, and bound to the f16
 * reference conv and panel. */
typedef int (*mf_conv_f16_fn)(const mf_f16 *x, const mf_f16 *w, const mf_f16 *bias, mf_f16 *y,
                              const mf_conv2d_desc *d);
int mf_conv2d_overwrite_f16(const mf_f16 *x, const mf_f16 *w, const mf_f16 *bias, mf_f16 *y,
                            mf_f16 *scratch, const mf_conv2d_desc *d, mf_conv_f16_fn plane,
                            mf_panel_f16_fn panel, int32_t cols);
#endif

#endif
