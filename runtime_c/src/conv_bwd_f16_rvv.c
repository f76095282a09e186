/* F16 convolution backward for RISC-V vector (body: conv_bwd_simd.inc). */
#if defined(__riscv_vector)
#define MF_T mf_f16
#define MF_REF(op) op##_f16_ref
#define MF_SFX(op) op##_f16
#define MF_SIMD(op) op##_f16_rvv
#define MF_BWD_COLS MF_BWD_COLS_RVV
#include "conv_bwd_simd.inc"
#endif
