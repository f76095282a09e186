/* The overwrite-safe depthwise/pointwise convolution with FP16 storage and FP32 arithmetic:
 * the f16 reference conv per channel, the f16 reference panel per tile (body:
 * conv_overwrite_ref.inc). Shape rules and scratch sizes are the FP32 ones
 * (conv_overwrite_f32_ref.c). */
#include "mf_conv_inplace.h"

#if defined(__FLT16_MAX__)
#define MF_T mf_f16
#define MF_REF(op) op##_f16_ref
#define MF_SFX(op) op##_f16
#define MF_CONV_FN mf_conv_f16_fn
#define MF_PANEL_FN mf_panel_f16_fn
#include "conv_overwrite_ref.inc"
#endif
