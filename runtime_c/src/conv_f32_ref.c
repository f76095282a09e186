/* Direct 2-D convolution, FP32 reference (body: conv_ref.inc). */
#define MF_T float
#define MF_REF(op) op##_f32_ref
#include "conv_ref.inc"
