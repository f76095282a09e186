/* Element-wise FP32 reference kernels. */
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

int mf_unary_f32_ref(const float *x, float *y, int32_t n, const mf_act *act)
{
    if (!x || !y || !act || n < 0) return MF_EARG;
    if (act->kind == MF_ACT_RELU) { /* the common case, kept branch-light */
        for (int32_t i = 0; i < n; ++i) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
        return MF_OK;
    }
    for (int32_t i = 0; i < n; ++i) y[i] = mf_act_apply_f32(act, x[i]);
    return MF_OK;
}

static float binop(mf_binop op, float a, float b)
{
    switch (op) {
    case MF_BIN_ADD: return a + b;
    case MF_BIN_SUB: return a - b;
    case MF_BIN_MUL: return a * b;
    case MF_BIN_DIV: return a / b;
    case MF_BIN_POW: return powf(a, b);
    case MF_BIN_MAX: return a > b ? a : b;
    case MF_BIN_MIN: return a < b ? a : b;
    case MF_BIN_PRELU: return a >= 0.0f ? a : a * b;
    }
    return 0.0f;
}

int mf_binary_f32_ref(const float *a, const float *b, float *y, const mf_binary_desc *d)
{
    if (!a || !b || !y || !d || d->rank < 1 || d->rank > MF_MAX_RANK) return MF_EARG;
    const int32_t r = d->rank;
    const int32_t inner = d->shape[r - 1];
    const int32_t sa = d->a_stride[r - 1], sb = d->b_stride[r - 1];
    int32_t idx[MF_MAX_RANK] = {0};
    int32_t outer = 1;
    for (int32_t i = 0; i < r - 1; ++i) outer *= d->shape[i];
    const int fused = d->act.kind != MF_ACT_NONE;
    for (int32_t o = 0; o < outer; ++o) {
        int32_t oa = 0, ob = 0;
        for (int32_t i = 0; i < r - 1; ++i) {
            oa += idx[i] * d->a_stride[i];
            ob += idx[i] * d->b_stride[i];
        }
        const float *pa = a + oa, *pb = b + ob;
        float *py = y + (int32_t)o * inner;
        if (d->op == MF_BIN_ADD && sa == 1 && sb == 1 && !fused) {
            for (int32_t j = 0; j < inner; ++j) py[j] = pa[j] + pb[j];
        } else {
            for (int32_t j = 0; j < inner; ++j) {
                float v = binop(d->op, pa[j * sa], pb[j * sb]);
                py[j] = fused ? mf_act_apply_f32(&d->act, v) : v;
            }
        }
        for (int32_t i = r - 2; i >= 0; --i) { /* odometer over the outer dims */
            if (++idx[i] < d->shape[i]) break;
            idx[i] = 0;
        }
    }
    return MF_OK;
}
