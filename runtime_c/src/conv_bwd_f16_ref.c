/* Convolution backward, FP16 storage and FP32 accumulation: the oracle of the FP16 SIMD
 * kernels (body: conv_bwd_ref.inc). */
#include "mf_train.h"

#define MF_T mf_f16
#define MF_REF(op) op##_f16_ref
#define MF_CONV_BWD_GATHER
#include "conv_bwd_ref.inc"
