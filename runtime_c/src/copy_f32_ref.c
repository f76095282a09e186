/* Strided, index-mapped copy, FP32 reference (body: copy_ref.inc). */
#define MF_T float
#define MF_REF(op) op##_f32_ref
#include "copy_ref.inc"
