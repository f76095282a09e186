/* FP16 depthwise (FP16 arithmetic) convolution for RISC-V vector (body: depthwise_rvv.inc, LMUL 2). */
#if defined(__riscv_vector)
#include "mf_f16.h"
#define MF_T mf_f16
#define MF_REF(op) op##_f16_ref
#define MF_SFX(op) op##_f16
#define MF_DW(op) op##_f16_rvv
#define MF_DW_NO_RING 1
#define MF_DW_PLANES 1 /* depthwise_s2_rvv.inc: stride 2 over many planes per call */
#define MF_DW_PLANE_IN_PLACE 1 /* depthwise_rvv.inc: narrow 3x3 planes run over their input */
#define MF_S _Float16
#define MF_V vfloat16m2_t
#define MF_U vuint16m2_t
#define MF_B vbool8_t
#define MF_UI uint16_t
#define MF_SETVL(n) __riscv_vsetvl_e16m2(n)
#define MF_VLE(p, vl) __riscv_vle16_v_f16m2(p, vl)
#define MF_VLE_M(m, p, vl) __riscv_vle16_v_f16m2_m(m, p, vl)
#define MF_VLE_MU(m, z, p, vl) __riscv_vle16_v_f16m2_mu(m, z, p, vl)
#define MF_VLSE(p, s, vl) __riscv_vlse16_v_f16m2(p, s, vl)
#define MF_VLSE_M(m, p, s, vl) __riscv_vlse16_v_f16m2_m(m, p, s, vl)
#define MF_VLSE_MU(m, z, p, s, vl) __riscv_vlse16_v_f16m2_mu(m, z, p, s, vl)
#define MF_VSE(p, v, vl) __riscv_vse16_v_f16m2(p, v, vl)
#define MF_VFMV(x, vl) __riscv_vfmv_v_f_f16m2(x, vl)
#define MF_VFMACC(acc, s, v, vl) __riscv_vfmacc_vf_f16m2(acc, s, v, vl)
#define MF_VFMACC_MU(m, acc, s, v, vl) __riscv_vfmacc_vf_f16m2_mu(m, acc, s, v, vl)
#define MF_VFMACC_VV(acc, a, v, vl) __riscv_vfmacc_vv_f16m2(acc, a, v, vl)
#define MF_VFMERGE(z, s, m, vl) __riscv_vfmerge_vfm_f16m2(z, s, m, vl)
#define MF_VFMAX(v, s, vl) __riscv_vfmax_vf_f16m2(v, s, vl)
#define MF_VFMIN(v, s, vl) __riscv_vfmin_vf_f16m2(v, s, vl)
#define MF_VID(vl) __riscv_vid_v_u16m2(vl)
#define MF_VADDU(v, x, vl) __riscv_vadd_vx_u16m2(v, x, vl)
#define MF_VREMU(v, x, vl) __riscv_vremu_vx_u16m2(v, x, vl)
#define MF_VSUBU_MU(m, d, v, x, vl) __riscv_vsub_vx_u16m2_mu(m, d, v, x, vl)
#define MF_GEU(v, x, vl) __riscv_vmsgeu_vx_u16m2_b8(v, x, vl)
#define MF_LTU(v, x, vl) __riscv_vmsltu_vx_u16m2_b8(v, x, vl)
#define MF_MAND(a, b, vl) __riscv_vmand_mm_b8(a, b, vl)
#include <riscv_vector.h>
#include "depthwise_drive.inc"
#include "depthwise_rvv.inc"
#endif
