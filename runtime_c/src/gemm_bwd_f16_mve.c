/* F16 backward micro-kernel and matmul gradients for Arm Helium (body: gemm_bwd_mve.inc).
 * 8 columns per Q register, FP16 accumulators: Helium has no widening FP16 multiply-accumulate. */
#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 2)
#define MF_T mf_f16
#define MF_REF(op) op##_f16_ref
#define MF_SFX(op) op##_f16
#define MF_SIMD(op) op##_f16_mve
#define MF_MVE(op) op##_f16
#define MF_MVE_V float16x8_t
#define MF_MVE_S float16_t
#define MF_MVE_U uint16x8_t
#define MF_MVE_LANES 8
#define MF_MVE_VCTP(n) vctp16q(n)
#define MF_MVE_LOAD(p, pred) vldrhq_z_f16(p, pred)
#define MF_MVE_GATHER(p, offs, pred) vldrhq_gather_shifted_offset_z_f16(p, offs, pred)
#define MF_MVE_STORE(p, v, pred) vstrhq_p_f16(p, v, pred)
#define MF_MVE_OFFSETS(b_cs) vmulq_n_u16(vidupq_n_u16(0, 1), (uint16_t)(b_cs)) /* in elements */
#define MF_MVE_GATHER_MAX (65536 / 8)
#include "gemm_bwd_mve.inc"
#endif
