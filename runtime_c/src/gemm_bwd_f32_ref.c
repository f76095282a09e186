/* Matrix multiply backward and the tiled backward drivers, FP32 reference (body: gemm_bwd_ref.inc). */
#define MF_T float
#define MF_REF(op) op##_f32_ref
#define MF_SFX(op) op##_f32
#define MF_BWD_DC_IN_PLACE
#include "gemm_bwd_ref.inc"
