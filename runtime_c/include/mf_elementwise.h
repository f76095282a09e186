/* Element-wise kernels: unary activations and broadcasting binary ops. */
#ifndef MF_ELEMENTWISE_H
#define MF_ELEMENTWISE_H

#include "mf_types.h"

typedef enum {
    MF_BIN_ADD = 0,
    MF_BIN_SUB,
    MF_BIN_MUL,
    MF_BIN_DIV,
    MF_BIN_POW,
    MF_BIN_MAX,
    MF_BIN_MIN,
    MF_BIN_PRELU, /* a >= 0 ? a : a * b */
} mf_binop;

/* y[i] = op(a[.], b[.]) over `shape`; a_stride/b_stride are element strides, 0 where the
 * operand broadcasts. y is contiguous and may equal a (or b) when that operand is not
 * broadcast. */
typedef struct {
    int32_t rank;
    int32_t shape[MF_MAX_RANK];
    int32_t a_stride[MF_MAX_RANK];
    int32_t b_stride[MF_MAX_RANK];
    mf_binop op;
    mf_act act; /* applied to the result */
} mf_binary_desc;

/* mf_unary: y = act(x) for n elements; y may equal x. FP16 SIMD (norm_f16_<rvv|mve>.c)
 * vectorises GELU and ReLU and takes other activations through the reference.
 * mf_act_bwd_input (training): dx = dy * act'(.) for n elements. v is the activation's input,
 * or its output when from_output (RELU, CLIP, SIGMOID, TANH, EXP only). dx may equal dy.
 * The per-value activation every kernel's epilogue shares is private to the runtime
 * (runtime_c/src/mf_act.h). */
/* PROTOS_BEGIN: generated from toolchain/ops/kernel_table.py by `make protos`; do not edit */
int mf_act_bwd_input_f32_ref(const float *dy, const float *v, float *dx, int32_t n,
                             const mf_act *act, int32_t from_output);
int mf_binary_f32_mve(const float *a, const float *b, float *y, const mf_binary_desc *d);
int mf_binary_f32_ref(const float *a, const float *b, float *y, const mf_binary_desc *d);
int mf_binary_f32_rvv(const float *a, const float *b, float *y, const mf_binary_desc *d);
int mf_unary_f32_mve(const float *x, float *y, int32_t n, const mf_act *act);
int mf_unary_f32_ref(const float *x, float *y, int32_t n, const mf_act *act);
int mf_unary_f32_rvv(const float *x, float *y, int32_t n, const mf_act *act);
#if defined(__FLT16_MAX__)
int mf_act_bwd_input_f16_ref(const mf_f16 *dy, const mf_f16 *v, mf_f16 *dx, int32_t n,
                             const mf_act *act, int32_t from_output);
int mf_binary_f16_ref(const mf_f16 *a, const mf_f16 *b, mf_f16 *y, const mf_binary_desc *d);
int mf_unary_f16_mve(const mf_f16 *x, mf_f16 *y, int32_t n, const mf_act *act);
int mf_unary_f16_ref(const mf_f16 *x, mf_f16 *y, int32_t n, const mf_act *act);
int mf_unary_f16_rvv(const mf_f16 *x, mf_f16 *y, int32_t n, const mf_act *act);
#endif
/* PROTOS_END */

#endif
