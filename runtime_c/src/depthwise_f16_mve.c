/* FP16 depthwise convolution for Arm Helium, FP16 arithmetic (body: depthwise_mve.inc, 8 lanes). */
#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 2)
#include <arm_mve.h>
#include "mf_f16.h"
#define MF_T mf_f16
#define MF_REF(op) op##_f16_ref
#define MF_SFX(op) op##_f16
#define MF_DW(op) op##_f16_mve
#define MF_DW_NO_RING 1
#define MF_DW_PLANES 1 /* depthwise_s2_mve.inc: stride 2 over many planes per call */
#define MF_DW_PLANE_IN_PLACE 1 /* depthwise_rows_mve.inc runs over its input */
#define MF_LANES 8
#define MF_S float16_t
#define MF_V float16x8_t
#define MF_U uint16x8_t
#define MF_UI uint16_t
#define MF_VCTP(n) vctp16q(n)
#define MF_VDUP(s) vdupq_n_f16(s)
#define MF_VMAX(a, b) vmaxnmq_f16(a, b)
#define MF_VMIN(a, b) vminnmq_f16(a, b)
#define MF_VFMA_N(acc, v, s) vfmaq_n_f16(acc, v, s)
#define MF_VLD_Z(p, pred) vldrhq_z_f16((const float16_t *)(p), pred)
#define MF_VST_P(p, v, pred) vstrhq_p_f16((float16_t *)(p), v, pred)
#define MF_GATHER(p, offs) vldrhq_gather_shifted_offset_f16((const float16_t *)(p), offs)
#define MF_GATHER_Z(p, offs, pred) vldrhq_gather_shifted_offset_z_f16((const float16_t *)(p), offs, pred)
#define MF_VIDUP(start) vidupq_n_u16(start, 1)
#define MF_VADD_N(v, x) vaddq_n_u16(v, x)
#define MF_VMUL_N(v, x) vmulq_n_u16(v, x)
#define MF_VSUB_M(inact, v, x, pred) vsubq_m_n_u16(inact, v, x, pred)
#define MF_VADD_M(inact, v, x, pred) vaddq_m_n_u16(inact, v, x, pred)
#define MF_VDUPU(x) vdupq_n_u16(x)
#define MF_ASM_SZ "16"
#define MF_ASM_LD "h"
#define MF_ASM_EB "2"
#define MF_CMPCS(v, x) vcmpcsq_n_u16(v, x)
#define MF_CMPNE0(v) vcmpneq_n_u16(v, 0)
#include "depthwise_drive.inc"
#include "depthwise_mve.inc"
#endif
