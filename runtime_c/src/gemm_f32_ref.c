/* General matrix multiply with batch broadcast, bias and activation, FP32 reference (body: gemm_ref.inc). */
#define MF_T float
#define MF_REF(op) op##_f32_ref
#include "gemm_ref.inc"
