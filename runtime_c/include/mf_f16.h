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

#endif

/* Boundary conversions: float32 model inputs/outputs <-> FP16 activations. */

/* PROTOS_BEGIN: generated from toolchain/ops/kernel_table.py by `make protos`; do not edit */
#if defined(__FLT16_MAX__)
int mf_cast_f16_to_f32_ref(const mf_f16 *x, float *y, int32_t n);
int mf_cast_f32_to_f16_ref(const float *x, mf_f16 *y, int32_t n);
#endif
/* PROTOS_END */

#endif
