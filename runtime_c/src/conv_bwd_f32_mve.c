/* F32 convolution backward for Arm Helium (body: conv_bwd_simd.inc). */
#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 2)
#define MF_T float
#define MF_REF(op) op##_f32_ref
#define MF_SFX(op) op##_f32
#define MF_SIMD(op) op##_f32_mve
#define MF_BWD_COLS MF_BWD_COLS_MVE
#include "conv_bwd_simd.inc"
#endif
