/* mcuforge runtime: shared types. Kernels return an mf_status, check arguments first,
 * never allocate, and take scratch from the caller. */
#ifndef MF_TYPES_H
#define MF_TYPES_H

#include <stddef.h>
#include <stdint.h>

#define MF_MAX_RANK 8

typedef enum {
    MF_OK = 0,
    MF_EARG = -1,   /* a NULL pointer or an impossible size */
    MF_ESHAPE = -2, /* shapes inconsistent with the descriptor */
} mf_status;

/* Activations, shared by unary kernels and fused epilogues. */
typedef enum {
    MF_ACT_NONE = 0,
    MF_ACT_RELU,
    MF_ACT_CLIP,        /* alpha = min, beta = max */
    MF_ACT_LEAKY_RELU,  /* alpha */
    MF_ACT_ELU,         /* alpha */
    MF_ACT_SELU,        /* alpha, beta = gamma */
    MF_ACT_SIGMOID,
    MF_ACT_HARD_SIGMOID, /* alpha, beta */
    MF_ACT_HARD_SWISH,
    MF_ACT_TANH,
    MF_ACT_GELU,        /* exact (erf) */
    MF_ACT_GELU_TANH,
    MF_ACT_ERF,
    MF_ACT_SQRT,
    MF_ACT_EXP,
    MF_ACT_LOG,
    MF_ACT_NEG,
    MF_ACT_ABS,
    MF_ACT_RECIPROCAL,
    MF_ACT_SOFTPLUS,
    MF_ACT_SOFTSIGN,
    MF_ACT_FLOOR,
    MF_ACT_CEIL,
    MF_ACT_SIN,
    MF_ACT_COS,
    MF_ACT_POW_CONST,   /* x ** alpha */
    MF_ACT_AFFINE,      /* alpha * x + beta */
    MF_ACT_SWISH,       /* x * sigmoid(alpha * x) */
    MF_ACT_MISH,        /* x * tanh(softplus(x)) */
} mf_act_kind;

typedef struct {
    mf_act_kind kind;
    float alpha;
    float beta;
} mf_act;

/* IEEE binary16 storage (mf_f16.h), where the compiler has _Float16 (GCC >= 12 / clang on
 * x86-64, Arm, RISC-V): here so every family header can declare its FP16 kernels. */
#if defined(__FLT16_MAX__)
typedef _Float16 mf_f16;
#endif

#endif
