/* F32 convolution backward for RISC-V vector (body: conv_bwd_simd.inc). */
#if defined(__riscv_vector)
#define MF_T float
#define MF_REF(op) op##_f32_ref
#define MF_SFX(op) op##_f32
#define MF_SIMD(op) op##_f32_rvv
#define MF_BWD_COLS MF_BWD_COLS_RVV
#include "conv_bwd_simd.inc"
#endif
