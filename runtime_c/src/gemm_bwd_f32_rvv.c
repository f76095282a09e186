/* F32 backward micro-kernel and matmul gradients for RISC-V vector (body: gemm_bwd_rvv.inc).
 * FP32 accumulators. */
#if defined(__riscv_vector)
#define MF_T float
#define MF_REF(op) op##_f32_ref
#define MF_SFX(op) op##_f32
#define MF_SIMD(op) op##_f32_rvv
#define MF_RVV(op) op##_f32m2
#define MF_RVV_V vfloat32m2_t
#define MF_RVV_SETVL(n) __riscv_vsetvl_e32m2(n)
#define MF_RVV_LOAD(p, vl) __riscv_vle32_v_f32m2(p, vl)
#define MF_RVV_LOAD_STRIDED(p, bytes, vl) __riscv_vlse32_v_f32m2(p, bytes, vl)
#define MF_RVV_STORE(p, v, vl) __riscv_vse32_v_f32m2(p, v, vl)
#include "gemm_bwd_rvv.inc"
#endif
