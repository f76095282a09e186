/* FP32 kernels of the vector ISAs (RVV, Helium) beyond the prototypes of mf_fast.h: the
 * residual and overwrite convolutions on their GEMM panels, the shared Gemm driver, and the
 * element-wise kernels. Each computes what its _ref twin computes and is tested against it in
 * the same simulator binary. */
#ifndef MF_SIMD_F32_H
#define MF_SIMD_F32_H

#include "mf_conv_inplace.h"
#include "mf_depthwise.h"
#include "mf_elementwise.h"
#include "mf_fast.h"
#include "mf_gemm.h"

/* Gemm with the descriptor of mf_gemm_f32_ref through a panel micro-kernel (row-major A and B;
 * transposed layouts fall back to the reference). */
int mf_gemm_by_panel_f32(const float *a, const float *b, const float *c, float *y,
                         const mf_gemm_desc *d, mf_panel_f32_fn panel);

int mf_conv2d_residual_f32_rvv(const float *x, const float *w, const float *bias,
                               const float *skip, float *y, float *scratch,
                               const mf_conv2d_desc *d);
int mf_conv2d_residual_f32_mve(const float *x, const float *w, const float *bias,
                               const float *skip, float *y, float *scratch,
                               const mf_conv2d_desc *d);

/* Element-wise (elementwise_f32_<isa>.c): the piecewise-linear activations and Add/Sub/Mul/
 * (Div on RVV)/Max/Min with broadcasting vectorised; everything else is the reference's. */
int mf_unary_f32_rvv(const float *x, float *y, int32_t n, const mf_act *act);
int mf_unary_f32_mve(const float *x, float *y, int32_t n, const mf_act *act);
int mf_binary_f32_rvv(const float *a, const float *b, float *y, const mf_binary_desc *d);
int mf_binary_f32_mve(const float *a, const float *b, float *y, const mf_binary_desc *d);

#endif
