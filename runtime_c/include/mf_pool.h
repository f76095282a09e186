/* 2-D pooling over NCHW. */
#ifndef MF_POOL_H
#define MF_POOL_H

#include "mf_types.h"

typedef struct {
    int32_t nc, h_in, w_in, h_out, w_out;
    int32_t k_h, k_w;
    int32_t stride_h, stride_w;
    int32_t dil_h, dil_w;
    int32_t pad_top, pad_left, pad_bottom, pad_right;
    int32_t count_include_pad; /* average pooling: divide by the window including pads */
} mf_pool2d_desc;


/* Training. */
/* mf_maxpool2d/avgpool2d_bwd_input: the gradient goes to the window's maximum (the first one in scan order, as the
 * forward picks it) or is spread evenly over the counted window. */
/* PROTOS_BEGIN: generated from toolchain/ops/kernel_table.py by `make protos`; do not edit */
int mf_avgpool2d_bwd_input_f32_ref(const float *dy, float *dx, const mf_pool2d_desc *d);
int mf_avgpool2d_f32_ref(const float *x, float *y, const mf_pool2d_desc *d);
int mf_maxpool2d_bwd_input_f32_ref(const float *dy, const float *x, float *dx,
                                   const mf_pool2d_desc *d);
int mf_maxpool2d_f32_ref(const float *x, float *y, const mf_pool2d_desc *d);
#if defined(__FLT16_MAX__)
int mf_avgpool2d_bwd_input_f16_ref(const mf_f16 *dy, mf_f16 *dx, const mf_pool2d_desc *d);
int mf_avgpool2d_f16_ref(const mf_f16 *x, mf_f16 *y, const mf_pool2d_desc *d);
int mf_maxpool2d_bwd_input_f16_ref(const mf_f16 *dy, const mf_f16 *x, mf_f16 *dx,
                                   const mf_pool2d_desc *d);
int mf_maxpool2d_f16_ref(const mf_f16 *x, mf_f16 *y, const mf_pool2d_desc *d);
#endif
/* PROTOS_END */

#endif
