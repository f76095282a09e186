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

#endif
