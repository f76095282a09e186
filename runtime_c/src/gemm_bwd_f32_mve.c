/* F32 backward micro-kernel and matmul gradients for Arm Helium (body: gemm_bwd_mve.inc).
 * 4 columns per Q register, FP32 accumulators. */
#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 2)
#define MF_T float
#define MF_REF(op) op##_f32_ref
#define MF_SFX(op) op##_f32
#define MF_SIMD(op) op##_f32_mve
#define MF_MVE(op) op##_f32
#define MF_MVE_V float32x4_t
#define MF_MVE_S float32_t
#define MF_MVE_U uint32x4_t
#define MF_MVE_LANES 4
#define MF_MVE_VCTP(n) vctp32q(n)
#define MF_MVE_LOAD(p, pred) vldrwq_z_f32(p, pred)
#define MF_MVE_GATHER(p, offs, pred) vldrwq_gather_shifted_offset_z_f32(p, offs, pred)
#define MF_MVE_STORE(p, v, pred) vstrwq_p_f32(p, v, pred)
#define MF_MVE_OFFSETS(b_cs) vmulq_n_u32(vidupq_n_u32(0, 1), (uint32_t)(b_cs)) /* in elements */
#define MF_MVE_GATHER_MAX (0x7fffffff / 4)
#include "gemm_bwd_mve.inc"
#endif
