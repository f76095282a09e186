/* Reductions over arbitrary axes, FP32 reference (body: reduce_ref.inc). */
#define MF_T float
#define MF_REF(op) op##_f32_ref
#include "reduce_ref.inc"
