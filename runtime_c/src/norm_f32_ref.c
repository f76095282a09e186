/* Softmax and LayerNorm, FP32 reference (body: norm_ref.inc). Both may run in place. */
#define MF_T float
#define MF_REF(op) op##_f32_ref
#include "norm_ref.inc"
