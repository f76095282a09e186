/* 2-D max and average pooling, FP32 reference (body: pool_ref.inc). */
#define MF_T float
#define MF_REF(op) op##_f32_ref
#include "pool_ref.inc"
