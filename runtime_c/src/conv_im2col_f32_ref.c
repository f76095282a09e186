/* im2col convolution driver shared by the FP32 kernels of every ISA (see mf_fast.h): the
 * ISA only supplies the GEMM panel micro-kernel. With mf_gemm_panel_f32_ref it is a plain
 * scalar kernel, which the tests use to check the driver itself on the host. The shape
 * helpers below serve every element type; the rest is conv_im2col_ref.inc. */
#include "mf_fast.h"

int mf_conv2d_is_depthwise(const mf_conv2d_desc *d)
{
    return d->groups == d->c_in && d->groups == d->c_out;
}

int mf_conv2d_is_pointwise(const mf_conv2d_desc *d)
{
    return d->k_h == 1 && d->k_w == 1 && d->stride_h == 1 && d->stride_w == 1 &&
           d->pad_top == 0 && d->pad_left == 0 && d->h_out == d->h_in && d->w_out == d->w_in;
}

int32_t mf_conv2d_scratch_bytes(const mf_conv2d_desc *d, int32_t elem_bytes, int32_t cols)
{
    if (d->groups < 1 || mf_conv2d_is_depthwise(d) || mf_conv2d_is_pointwise(d)) return 0;
    return d->c_in / d->groups * d->k_h * d->k_w * cols * elem_bytes;
}

/* dst[j] = src[j * stride], j < n, with vector loads/stores where the ISA has them (as the FP16
 * twin, conv_im2col_f16_ref.c); plain C (conv_im2col_ref.inc) elsewhere. */
#if defined(__riscv_vector)
#include <riscv_vector.h>
#define MF_COPY_RUN copy_run
static inline void copy_run(float *dst, const float *src, int32_t n, int32_t stride)
{
    while (n > 0) {
        const size_t vl = __riscv_vsetvl_e32m4((size_t)n);
        const vfloat32m4_t v = stride == 1 ? __riscv_vle32_v_f32m4(src, vl)
                                           : __riscv_vlse32_v_f32m4(src, stride * 4, vl);
        __riscv_vse32_v_f32m4(dst, v, vl);
        src += (int32_t)vl * stride;
        dst += vl;
        n -= (int32_t)vl;
    }
}
#elif defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 2)
#include <arm_mve.h>
#define MF_COPY_RUN copy_run
static inline void copy_run(float *dst, const float *src, int32_t n, int32_t stride)
{
    if (stride != 1) {
        for (int32_t j = 0; j < n; ++j) dst[j] = src[j * stride];
        return;
    }
    for (; n > 0; n -= 4, src += 4, dst += 4) {
        const mve_pred16_t p = vctp32q((uint32_t)n);
        vstrwq_p_f32(dst, vldrwq_z_f32(src, p), p);
    }
}
#endif

#define MF_T float
#define MF_REF(op) op##_f32_ref
#define MF_SFX(op) op##_f32
#define MF_PANEL_FN mf_panel_f32_fn
#include "conv_im2col_ref.inc"
