/* Private to the runtime: what the FP32 kernels of the vector ISAs (RVV, Helium) include, the
 * residual and overwrite convolutions on their GEMM panels, the shared Gemm driver
 * (mf_gemm_by_panel_f32, mf_fast.h), and the element-wise kernels. Each computes what its _ref
 * twin computes and is tested against it in the same simulator binary. */
#ifndef MF_SIMD_F32_H
#define MF_SIMD_F32_H

#include "mf_conv_inplace.h"
#include "mf_depthwise.h"
#include "mf_elementwise.h"
#include "mf_fast.h"
#include "mf_gemm.h"

#endif
