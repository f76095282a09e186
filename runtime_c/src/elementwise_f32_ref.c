/* Element-wise FP32 reference kernels: the activations every kernel applies (FP16 ones too)
 * and their derivatives (the backward kernels use them), then the unary and binary kernels
 * (body: elementwise_ref.inc). An activation is one case in each switch here, one enum
 * value in mf_types.h and one row in toolchain/ops/elementwise.py's ACTIVATIONS. */
#include <math.h>

#include "mf_act.h"
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
    case MF_ACT_MISH: return x * tanhf(x > 20.0f ? x : log1pf(expf(x)));
    }
    return x;
}

static float clamp01_mask(float v) { return (v > 0.0f && v < 1.0f) ? 1.0f : 0.0f; }

/* The derivative at the activation's input x. */
float mf_act_deriv_f32(const mf_act *a, float x)
{
    switch (a->kind) {
    case MF_ACT_NONE: return 1.0f;
    case MF_ACT_RELU: return x > 0.0f ? 1.0f : 0.0f;
    case MF_ACT_CLIP: return (x >= a->alpha && x <= a->beta) ? 1.0f : 0.0f;
    case MF_ACT_LEAKY_RELU: return x > 0.0f ? 1.0f : a->alpha;
    case MF_ACT_ELU: return x > 0.0f ? 1.0f : a->alpha * expf(x);
    case MF_ACT_SELU: return a->beta * (x > 0.0f ? 1.0f : a->alpha * expf(x));
    case MF_ACT_SIGMOID: {
        const float s = 1.0f / (1.0f + expf(-x));
        return s * (1.0f - s);
    }
    case MF_ACT_HARD_SIGMOID: return a->alpha * clamp01_mask(a->alpha * x + a->beta);
    case MF_ACT_HARD_SWISH:
        return x < -3.0f ? 0.0f : (x <= 3.0f ? x / 3.0f + 0.5f : 1.0f);
    case MF_ACT_TANH: {
        const float t = tanhf(x);
        return 1.0f - t * t;
    }
    case MF_ACT_GELU:
        return 0.5f * (1.0f + erff(x * 0.70710678118654752f)) +
               x * 0.39894228040143268f * expf(-0.5f * x * x);
    case MF_ACT_GELU_TANH: {
        const float kb = 0.79788456080286536f, kk = 0.044715f;
        const float t = tanhf(kb * (x + kk * x * x * x));
        return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * kb * (1.0f + 3.0f * kk * x * x);
    }
    case MF_ACT_ERF: return 1.12837916709551257f * expf(-x * x);
    case MF_ACT_SQRT: return 0.5f / sqrtf(x);
    case MF_ACT_EXP: return expf(x);
    case MF_ACT_LOG: return 1.0f / x;
    case MF_ACT_NEG: return -1.0f;
    case MF_ACT_ABS: return x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : 0.0f);
    case MF_ACT_RECIPROCAL: return -1.0f / (x * x);
    case MF_ACT_SOFTPLUS: return x > 20.0f ? 1.0f : 1.0f / (1.0f + expf(-x));
    case MF_ACT_SOFTSIGN: {
        const float d = 1.0f + fabsf(x);
        return 1.0f / (d * d);
    }
    case MF_ACT_FLOOR:
    case MF_ACT_CEIL: return 0.0f;
    case MF_ACT_SIN: return cosf(x);
    case MF_ACT_COS: return -sinf(x);
    case MF_ACT_POW_CONST: return a->alpha * powf(x, a->alpha - 1.0f);
    case MF_ACT_AFFINE: return a->alpha;
    case MF_ACT_SWISH: {
        const float s = 1.0f / (1.0f + expf(-a->alpha * x));
        return s + a->alpha * x * s * (1.0f - s);
    }
    case MF_ACT_MISH: { /* tanh(sp) + x sech^2(sp) sigmoid(x), sp = softplus(x) */
        const float t = tanhf(x > 20.0f ? x : log1pf(expf(x)));
        return t + x * (1.0f - t * t) / (1.0f + expf(-x));
    }
    }
    return 1.0f;
}

/* The derivative from the output y, for activations where that is exact. */
int mf_act_deriv_out_f32(const mf_act *a, float y, float *out)
{
    switch (a->kind) {
    case MF_ACT_NONE: *out = 1.0f; return 1;
    case MF_ACT_RELU: *out = y > 0.0f ? 1.0f : 0.0f; return 1;
    case MF_ACT_CLIP: *out = (y > a->alpha && y < a->beta) ? 1.0f : 0.0f; return 1;
    case MF_ACT_SIGMOID: *out = y * (1.0f - y); return 1;
    case MF_ACT_TANH: *out = 1.0f - y * y; return 1;
    case MF_ACT_EXP: *out = y; return 1;
    default: return 0;
    }
}

#define MF_T float
#define MF_REF(op) op##_f32_ref
#include "elementwise_ref.inc"
