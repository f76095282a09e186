/* Matrix multiply backward and the tiled backward drivers, FP16 storage and FP32
 * accumulation: the oracle of the FP16 SIMD kernels (body: gemm_bwd_ref.inc). */
#include "mf_train.h"

#define MF_T mf_f16
#define MF_REF(op) op##_f16_ref
#define MF_SFX(op) op##_f16
#include "gemm_bwd_ref.inc"
