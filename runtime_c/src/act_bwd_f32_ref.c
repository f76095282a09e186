/* Activation backward, FP32 reference: dx = dy * act'(v), the derivatives PyTorch uses. */
#include <math.h>

#include "mf_train.h"

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

int mf_act_bwd_input_f32_ref(const float *dy, const float *v, float *dx, int32_t n,
                             const mf_act *act, int32_t from_output)
{
    if (!dy || !v || !dx || !act || n < 0) return MF_EARG;
    if (from_output) {
        float dd;
        if (!mf_act_deriv_out_f32(act, 0.0f, &dd)) return MF_EARG;
        for (int32_t i = 0; i < n; ++i) {
            mf_act_deriv_out_f32(act, v[i], &dd);
            dx[i] = dy[i] * dd;
        }
        return MF_OK;
    }
    for (int32_t i = 0; i < n; ++i) dx[i] = dy[i] * mf_act_deriv_f32(act, v[i]);
    return MF_OK;
}
