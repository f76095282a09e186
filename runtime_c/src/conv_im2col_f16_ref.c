/* im2col convolution driver for FP16 (see conv_im2col_f32_ref.c, its FP32 twin; body:
 * conv_im2col_ref.inc): the ISA supplies the GEMM panel; with mf_gemm_panel_f16_ref (FP32
 * accumulation) it is a scalar kernel the tests use to check the driver on the host. */
#include "mf_f16.h"

/* dst[j] = src[j * stride], j < n: the bulk of im2col, so vector loads/stores where the ISA
 * has them (tails by vsetvl / vctp), plain C (conv_im2col_ref.inc) elsewhere. */
#if defined(__riscv_vector)
#include <riscv_vector.h>
#define MF_COPY_RUN copy_run
static inline void copy_run(mf_f16 *dst, const mf_f16 *src, int32_t n, int32_t stride)
{
    while (n > 0) {
        const size_t vl = __riscv_vsetvl_e16m2((size_t)n);
        const vfloat16m2_t v = stride == 1 ? __riscv_vle16_v_f16m2((const _Float16 *)src, vl)
                                           : __riscv_vlse16_v_f16m2((const _Float16 *)src, stride * 2, vl);
        __riscv_vse16_v_f16m2((_Float16 *)dst, v, vl);
        src += (int32_t)vl * stride;
        dst += vl;
        n -= (int32_t)vl;
    }
}
#elif defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 2)
#include <arm_mve.h>
#define MF_COPY_RUN copy_run
static inline void copy_run(mf_f16 *dst, const mf_f16 *src, int32_t n, int32_t stride)
{
    if (stride != 1) {
        for (int32_t j = 0; j < n; ++j) dst[j] = src[j * stride];
        return;
    }
    for (; n > 0; n -= 8, src += 8, dst += 8) {
        const mve_pred16_t p = vctp16q((uint32_t)n);
        vstrhq_p_f16((float16_t *)dst, vldrhq_z_f16((const float16_t *)src, p), p);
    }
}
#endif

#define MF_T mf_f16
#define MF_REF(op) op##_f16_ref
#define MF_SFX(op) op##_f16
#define MF_PANEL_FN mf_panel_f16_fn
#include "conv_im2col_ref.inc"
