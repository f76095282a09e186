/* Element-wise FP32 reference kernels: the activations every kernel applies (FP16 ones too),
 * then the unary and binary kernels (body: elementwise_ref.inc). */
#include <math.h>

#include "mf_elementwise.h"

float mf_act_apply_f32(const mf_act *act, float x)
{
    switch (act->kind) {
    case MF_ACT_NONE: return x;
    case MF_ACT_RELU: return x > 0.0f ? x : 0.0f;
    case MF_ACT_CLIP: { /* min first, then max: ONNX's result when min > max */
        float v = x < act->alpha ? act->alpha : x;
        return v > act->beta ? act->beta : v;
    }
    case MF_ACT_LEAKY_RELU: return x >= 0.0f ? x : act->alpha * x;
    case MF_ACT_ELU: return x >= 0.0f ? x : act->alpha * (expf(x) - 1.0f);
    case MF_ACT_SELU: return act->beta * (x > 0.0f ? x : act->alpha * (expf(x) - 1.0f));
    case MF_ACT_SIGMOID: return 1.0f / (1.0f + expf(-x));
    case MF_ACT_HARD_SIGMOID: {
        float v = act->alpha * x + act->beta;
        return v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
    }
    case MF_ACT_HARD_SWISH: {
        float v = x / 6.0f + 0.5f;
        return x * (v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v));
    }
    case MF_ACT_TANH: return tanhf(x);
    case MF_ACT_GELU: return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
    case MF_ACT_GELU_TANH: {
        float inner = 0.79788456080286536f * (x + 0.044715f * x * x * x);
        return 0.5f * x * (1.0f + tanhf(inner));
    }
    case MF_ACT_ERF: return erff(x);
    case MF_ACT_SQRT: return sqrtf(x);
    case MF_ACT_EXP: return expf(x);
    case MF_ACT_LOG: return logf(x);
    case MF_ACT_NEG: return -x;
    case MF_ACT_ABS: return fabsf(x);
    case MF_ACT_RECIPROCAL: return 1.0f / x;
    case MF_ACT_SOFTPLUS: return x > 20.0f ? x : log1pf(expf(x));
    case MF_ACT_SOFTSIGN: return x / (1.0f + fabsf(x));
    case MF_ACT_FLOOR: return floorf(x);
    case MF_ACT_CEIL: return ceilf(x);
    case MF_ACT_SIN: return sinf(x);
    case MF_ACT_COS: return cosf(x);
    case MF_ACT_POW_CONST: return powf(x, act->alpha);
    case MF_ACT_AFFINE: return act->alpha * x + act->beta;
    case MF_ACT_SWISH: return x / (1.0f + expf(-act->alpha * x));
    }
    return x;
}

#define MF_T float
#define MF_REF(op) op##_f32_ref
#include "elementwise_ref.inc"
