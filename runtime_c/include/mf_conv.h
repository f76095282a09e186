/* 2-D convolution (NCHW activations, OIHW weights), groups so depthwise, fused activation. */
#ifndef MF_CONV_H
#define MF_CONV_H

#include "mf_types.h"

typedef struct {
    int32_t n, c_in, h_in, w_in;
    int32_t c_out, h_out, w_out;
    int32_t k_h, k_w;
    int32_t stride_h, stride_w;
    int32_t dil_h, dil_w;
    int32_t pad_top, pad_left;
    int32_t groups;
    mf_act act;
} mf_conv2d_desc;

/* bias may be NULL. */
int mf_conv2d_f32_ref(const float *x, const float *w, const float *bias, float *y,
                      const mf_conv2d_desc *d);

#endif
