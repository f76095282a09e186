/* FP32 depthwise convolution for Arm Helium (body: depthwise_mve.inc, 4 lanes). */
#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 2)
#include <arm_mve.h>
#define MF_T float
#define MF_REF(op) op##_f32_ref
#define MF_SFX(op) op##_f32
#define MF_DW(op) op##_f32_mve
#define MF_DW_NO_RING 1
#define MF_DW_PLANES 1 /* depthwise_s2_mve.inc: stride 2 over many planes per call */
#define MF_DW_PLANE_IN_PLACE 1 /* depthwise_rows_mve.inc runs over its input */
#define MF_LANES 4
#define MF_S float32_t
#define MF_V float32x4_t
#define MF_U uint32x4_t
#define MF_UI uint32_t
#define MF_VCTP(n) vctp32q(n)
#define MF_VDUP(s) vdupq_n_f32(s)
#define MF_VMAX(a, b) vmaxnmq_f32(a, b)
#define MF_VMIN(a, b) vminnmq_f32(a, b)
#define MF_VFMA_N(acc, v, s) vfmaq_n_f32(acc, v, s)
#define MF_VLD_Z(p, pred) vldrwq_z_f32(p, pred)
#define MF_VST_P(p, v, pred) vstrwq_p_f32(p, v, pred)
#define MF_GATHER(p, offs) vldrwq_gather_shifted_offset_f32(p, offs)
#define MF_GATHER_Z(p, offs, pred) vldrwq_gather_shifted_offset_z_f32(p, offs, pred)
#define MF_VIDUP(start) vidupq_n_u32(start, 1)
#define MF_VADD_N(v, x) vaddq_n_u32(v, x)
#define MF_VMUL_N(v, x) vmulq_n_u32(v, x)
#define MF_VSUB_M(inact, v, x, pred) vsubq_m_n_u32(inact, v, x, pred)
#define MF_VADD_M(inact, v, x, pred) vaddq_m_n_u32(inact, v, x, pred)
#define MF_VDUPU(x) vdupq_n_u32(x)
#define MF_ASM_SZ "32"
#define MF_ASM_LD "w"
#define MF_ASM_EB "4"
#define MF_CMPCS(v, x) vcmpcsq_n_u32(v, x)
#define MF_CMPNE0(v) vcmpneq_n_u32(v, 0)
#include "depthwise_drive.inc"
#include "depthwise_mve.inc"
#endif
