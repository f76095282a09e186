/* Softmax and LayerNorm, FP16 storage, FP32 arithmetic
 * (see mf_f16.h; body: norm_ref.inc). Both may run in place. */
#include "mf_f16.h"
#define MF_T mf_f16
#define MF_REF(op) op##_f16_ref
#include "norm_ref.inc"
