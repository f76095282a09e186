/* F16 backward micro-kernel and matmul gradients for RISC-V vector (body: gemm_bwd_rvv.inc).
 * FP16 accumulators (see mf_train.h: the widening vfwmacc would halve the MACs per
 * instruction). */
#if defined(__riscv_vector)
#define MF_T mf_f16
#define MF_REF(op) op##_f16_ref
#define MF_SFX(op) op##_f16
#define MF_SIMD(op) op##_f16_rvv
#define MF_RVV(op) op##_f16m2
#define MF_RVV_V vfloat16m2_t
#define MF_RVV_SETVL(n) __riscv_vsetvl_e16m2(n)
#define MF_RVV_LOAD(p, vl) __riscv_vle16_v_f16m2(p, vl)
#define MF_RVV_LOAD_STRIDED(p, bytes, vl) __riscv_vlse16_v_f16m2(p, bytes, vl)
#define MF_RVV_STORE(p, v, vl) __riscv_vse16_v_f16m2(p, v, vl)
#include "gemm_bwd_rvv.inc"
#endif
