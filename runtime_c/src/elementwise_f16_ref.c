/* Element-wise FP16 reference kernels: halves in and out, FP32 arithmetic (see mf_f16.h);
 * activations share mf_act_apply_f32 with the FP32 kernels. */
#include <math.h>

#include "mf_elementwise.h"
#include "mf_f16.h"

int mf_unary_f16_ref(const mf_f16 *x, mf_f16 *y, int32_t n, const mf_act *act)
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

int mf_binary_f16_ref(const mf_f16 *a, const mf_f16 *b, mf_f16 *y, const mf_binary_desc *d)
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
        const mf_f16 *pa = a + oa, *pb = b + ob;
        mf_f16 *py = y + (int32_t)o * inner;
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
