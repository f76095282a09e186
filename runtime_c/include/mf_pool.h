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

int mf_maxpool2d_f32_ref(const float *x, float *y, const mf_pool2d_desc *d);
int mf_avgpool2d_f32_ref(const float *x, float *y, const mf_pool2d_desc *d);

#endif
