/* LayerNorm and Softmax backward, FP32 reference (body: norm_bwd_ref.inc). */
#define MF_T float
#define MF_REF(op) op##_f32_ref
#include "norm_bwd_ref.inc"
