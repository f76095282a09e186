/* FP32 element-wise kernels for Arm Helium (MVE, Cortex-M55): 4 lanes per Q register, the tail
 * under vctp32q predication.
 *
 * Unary: the piecewise-linear activations (ReLU, Clip, LeakyRelu, HardSigmoid, affine, Neg,
 * Abs) and the copy; the transcendental ones go to the reference in the same call.
 * Binary (Add, Sub, Mul, Max, Min, with a fused ReLU/Clip): the reference's odometer over the
 * outer dimensions, the innermost one vectorised when each operand is unit-stride or broadcast
 * (stride 0: a per-channel bias over a plane, the _n forms); MVE has no float divide, so Div,
 * and Pow, PRelu and other strides, take the reference. */
#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 2)
#include <arm_mve.h>

#include "mf_simd_f32.h"

typedef float32x4_t vf;

static int vector_act(mf_act_kind k)
{
    return k == MF_ACT_NONE || k == MF_ACT_RELU || k == MF_ACT_CLIP || k == MF_ACT_LEAKY_RELU ||
           k == MF_ACT_HARD_SIGMOID || k == MF_ACT_AFFINE || k == MF_ACT_NEG || k == MF_ACT_ABS;
}

/* act(v) for the kinds vector_act accepts; Clip as the reference: max with min first. */
static inline vf act_v(vf v, const mf_act *a)
{
    switch (a->kind) {
    case MF_ACT_RELU: return vmaxnmq_f32(v, vdupq_n_f32(0.0f));
    case MF_ACT_CLIP: return vminnmq_f32(vmaxnmq_f32(v, vdupq_n_f32(a->alpha)), vdupq_n_f32(a->beta));
    case MF_ACT_LEAKY_RELU: return vpselq_f32(vmulq_n_f32(v, a->alpha), v, vcmpltq_n_f32(v, 0.0f));
    case MF_ACT_HARD_SIGMOID: {
        const vf t = vfmaq_n_f32(vdupq_n_f32(a->beta), v, a->alpha);
        return vminnmq_f32(vmaxnmq_f32(t, vdupq_n_f32(0.0f)), vdupq_n_f32(1.0f));
    }
    case MF_ACT_AFFINE: return vfmaq_n_f32(vdupq_n_f32(a->beta), v, a->alpha);
    case MF_ACT_NEG: return vnegq_f32(v);
    case MF_ACT_ABS: return vabsq_f32(v);
    default: return v;
    }
}

int mf_unary_f32_mve(const float *x, float *y, int32_t n, const mf_act *act)
{
    if (!x || !y || !act || n < 0) return MF_EARG;
    if (!vector_act(act->kind)) return mf_unary_f32_ref(x, y, n, act);
    for (int32_t i = 0; i < n; i += 4) {
        const mve_pred16_t p = vctp32q((uint32_t)(n - i));
        vstrwq_p_f32(y + i, act_v(vldrwq_z_f32(x + i, p), act), p);
    }
    return MF_OK;
}

static inline vf binop_vv(mf_binop op, vf a, vf b)
{
    switch (op) {
    case MF_BIN_ADD: return vaddq_f32(a, b);
    case MF_BIN_SUB: return vsubq_f32(a, b);
    case MF_BIN_MUL: return vmulq_f32(a, b);
    case MF_BIN_MAX: return vmaxnmq_f32(a, b);
    default: return vminnmq_f32(a, b);
    }
}

/* One innermost row of n outputs; sa, sb are 0 or 1. A broadcast operand is a duplicated
 * scalar (the _n forms of add/sub/mul take it in a general register). */
static void row(mf_binop op, const float *a, int32_t sa, const float *b, int32_t sb, float *y,
                int32_t n, const mf_act *act)
{
    if (n <= 0) return;
    const vf ka = vdupq_n_f32(a[0]), kb = vdupq_n_f32(b[0]);
    for (int32_t j = 0; j < n; j += 4) {
        const mve_pred16_t p = vctp32q((uint32_t)(n - j));
        vf v;
        if (sa && !sb && op == MF_BIN_ADD) v = vaddq_n_f32(vldrwq_z_f32(a + j, p), b[0]);
        else if (sa && !sb && op == MF_BIN_MUL) v = vmulq_n_f32(vldrwq_z_f32(a + j, p), b[0]);
        else if (sa && !sb && op == MF_BIN_SUB) v = vsubq_n_f32(vldrwq_z_f32(a + j, p), b[0]);
        else
            v = binop_vv(op, sa ? vldrwq_z_f32(a + j, p) : ka, sb ? vldrwq_z_f32(b + j, p) : kb);
        vstrwq_p_f32(y + j, act_v(v, act), p);
    }
}

int mf_binary_f32_mve(const float *a, const float *b, float *y, const mf_binary_desc *d)
{
    if (!a || !b || !y || !d || d->rank < 1 || d->rank > MF_MAX_RANK) return MF_EARG;
    const mf_act_kind k = d->act.kind;
    const int32_t r = d->rank, inner = d->shape[r - 1];
    const int32_t sa = d->a_stride[r - 1], sb = d->b_stride[r - 1];
    if (d->op == MF_BIN_POW || d->op == MF_BIN_PRELU || d->op == MF_BIN_DIV || (sa != 0 && sa != 1) ||
        (sb != 0 && sb != 1) || !(k == MF_ACT_NONE || k == MF_ACT_RELU || k == MF_ACT_CLIP))
        return mf_binary_f32_ref(a, b, y, d);
    int32_t idx[MF_MAX_RANK] = {0}, outer = 1;
    for (int32_t i = 0; i < r - 1; ++i) outer *= d->shape[i];
    for (int32_t o = 0; o < outer; ++o) {
        int32_t oa = 0, ob = 0;
        for (int32_t i = 0; i < r - 1; ++i) oa += idx[i] * d->a_stride[i], ob += idx[i] * d->b_stride[i];
        row(d->op, a + oa, sa, b + ob, sb, y + o * inner, inner, &d->act);
        for (int32_t i = r - 2; i >= 0; --i) { /* odometer over the outer dims */
            if (++idx[i] < d->shape[i]) break;
            idx[i] = 0;
        }
    }
    return MF_OK;
}
#endif
