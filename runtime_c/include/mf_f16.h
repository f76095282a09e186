/* FP16 kernels: weights and activations stored as IEEE binary16 (`mf_f16`).
 *
 * The _ref kernels read halves, compute in FP32 and round once on store, on every board: they
 * are the oracle the SIMD kernels are checked against, and on cores without FP16 arithmetic
 * (Cortex-M4/M7: `_Float16` is storage only, converted by VCVT) FP32 is the only arithmetic
 * there is. Native FP16 arithmetic is what the SIMD kernels (rvv, mve) use. The descriptors
 * are the FP32 ones; their scalar parameters stay float.
 *
 * One source serves both element types: a family's reference body, runtime_c/src/
 * <family>_ref.inc, is written against MF_T (float or mf_f16), MF_REF(op) (op##_f32_ref or
 * op##_f16_ref) and MF_SFX(op) (op##_f32 or op##_f16), which <family>_f32_ref.c and
 * <family>_f16_ref.c define before including it. Elements are read into float and rounded
 * once on store, so a (float) cast that FP16 needs is a no-op for FP32. The code generator
 * expands these names when it looks for definitions (toolchain/codegen/emit.py). */
#ifndef MF_F16_H
#define MF_F16_H

#include "mf_types.h"

#if defined(__FLT16_MAX__) /* the compiler has _Float16 (GCC >= 12 / clang, x86-64, Arm, RISC-V) */
#include "mf_conv.h"
#include "mf_copy.h"
#include "mf_elementwise.h"
#include "mf_gemm.h"
#include "mf_norm.h"
#include "mf_pool.h"
#include "mf_reduce.h"

typedef _Float16 mf_f16;

/* Boundary conversions: float32 model inputs/outputs <-> FP16 activations. */
int mf_cast_f32_to_f16_ref(const float *x, mf_f16 *y, int32_t n);
int mf_cast_f16_to_f32_ref(const mf_f16 *x, float *y, int32_t n);

int mf_conv2d_f16_ref(const mf_f16 *x, const mf_f16 *w, const mf_f16 *bias, mf_f16 *y,
                      const mf_conv2d_desc *d);
int mf_gemm_f16_ref(const mf_f16 *a, const mf_f16 *b, const mf_f16 *c, mf_f16 *y,
                    const mf_gemm_desc *d);
int mf_unary_f16_ref(const mf_f16 *x, mf_f16 *y, int32_t n, const mf_act *act);
int mf_binary_f16_ref(const mf_f16 *a, const mf_f16 *b, mf_f16 *y, const mf_binary_desc *d);
int mf_copy_f16_ref(const mf_f16 *x, mf_f16 *y, const mf_copy_desc *d);
int mf_maxpool2d_f16_ref(const mf_f16 *x, mf_f16 *y, const mf_pool2d_desc *d);
int mf_avgpool2d_f16_ref(const mf_f16 *x, mf_f16 *y, const mf_pool2d_desc *d);
int mf_softmax_f16_ref(const mf_f16 *x, mf_f16 *y, const mf_softmax_desc *d);
int mf_layernorm_f16_ref(const mf_f16 *x, const mf_f16 *gamma, const mf_f16 *beta, mf_f16 *y,
                         mf_f16 *mean_out, mf_f16 *rstd_out, const mf_layernorm_desc *d);
int mf_reduce_f16_ref(const mf_f16 *x, mf_f16 *y, const mf_reduce_desc *d);
#endif

#endif
