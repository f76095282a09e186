/* Pooling backward, FP32 reference (body: pool_bwd_ref.inc). */
#define MF_T float
#define MF_REF(op) op##_f32_ref
#include "pool_bwd_ref.inc"
