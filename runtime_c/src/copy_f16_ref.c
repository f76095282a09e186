/* Strided, index-mapped copy, FP16 storage, FP32 arithmetic
 * (see mf_f16.h; body: copy_ref.inc). */
#include "mf_f16.h"
#define MF_T mf_f16
#define MF_REF(op) op##_f16_ref
#include "copy_ref.inc"
