/* FP32 element-wise kernels for RISC-V vector (RVV 1.0), VLEN-agnostic: LMUL = 8 strips (32
 * lanes at VLEN 128), vsetvl takes the tail.
 *
 * Unary: the piecewise-linear activations (ReLU, Clip, LeakyRelu, HardSigmoid, affine, Neg,
 * Abs) and the copy; the transcendental ones go to the reference in the same call.
 * Binary (Add, Sub, Mul, Div, Max, Min, with a fused ReLU/Clip): the reference's odometer over
 * the outer dimensions, the innermost one vectorised: a unit-stride operand is a vector load,
 * a broadcast one (stride 0, e.g. a per-channel bias over a plane) a scalar operand (.vf
 * forms), any other stride a strided load (vlse32). PRelu and Pow take the reference. */
#if defined(__riscv_vector)
#include <riscv_vector.h>

#include "mf_simd_f32.h"

typedef vfloat32m8_t vf;

static int vector_act(mf_act_kind k)
{
    return k == MF_ACT_NONE || k == MF_ACT_RELU || k == MF_ACT_CLIP || k == MF_ACT_LEAKY_RELU ||
           k == MF_ACT_HARD_SIGMOID || k == MF_ACT_AFFINE || k == MF_ACT_NEG || k == MF_ACT_ABS;
}

/* act(v) for the kinds vector_act accepts; Clip as the reference: max with min first. */
static inline vf act_v(vf v, const mf_act *a, size_t vl)
{
    switch (a->kind) {
    case MF_ACT_RELU: return __riscv_vfmax_vf_f32m8(v, 0.0f, vl);
    case MF_ACT_CLIP: return __riscv_vfmin_vf_f32m8(__riscv_vfmax_vf_f32m8(v, a->alpha, vl), a->beta, vl);
    case MF_ACT_LEAKY_RELU: {
        const vbool4_t neg = __riscv_vmflt_vf_f32m8_b4(v, 0.0f, vl);
        return __riscv_vfmul_vf_f32m8_mu(neg, v, v, a->alpha, vl);
    }
    case MF_ACT_HARD_SIGMOID: {
        const vf t = __riscv_vfmadd_vf_f32m8(v, a->alpha, __riscv_vfmv_v_f_f32m8(a->beta, vl), vl);
        return __riscv_vfmin_vf_f32m8(__riscv_vfmax_vf_f32m8(t, 0.0f, vl), 1.0f, vl);
    }
    case MF_ACT_AFFINE:
        return __riscv_vfmadd_vf_f32m8(v, a->alpha, __riscv_vfmv_v_f_f32m8(a->beta, vl), vl);
    case MF_ACT_NEG: return __riscv_vfneg_v_f32m8(v, vl);
    case MF_ACT_ABS: return __riscv_vfabs_v_f32m8(v, vl);
    default: return v;
    }
}

int mf_unary_f32_rvv(const float *x, float *y, int32_t n, const mf_act *act)
{
    if (!x || !y || !act || n < 0) return MF_EARG;
    if (!vector_act(act->kind)) return mf_unary_f32_ref(x, y, n, act);
    for (int32_t i = 0; i < n;) {
        const size_t vl = __riscv_vsetvl_e32m8((size_t)(n - i));
        __riscv_vse32_v_f32m8(y + i, act_v(__riscv_vle32_v_f32m8(x + i, vl), act, vl), vl);
        i += (int32_t)vl;
    }
    return MF_OK;
}

/* One operand's strip: a vector load at unit stride, a strided one otherwise (stride 0 is
 * taken by the .vf forms before this is called). */
static inline vf operand(const float *p, int32_t stride, size_t vl)
{
    if (stride == 1) return __riscv_vle32_v_f32m8(p, vl);
    return __riscv_vlse32_v_f32m8(p, (ptrdiff_t)stride * 4, vl);
}

static inline vf binop_vv(mf_binop op, vf a, vf b, size_t vl)
{
    switch (op) {
    case MF_BIN_ADD: return __riscv_vfadd_vv_f32m8(a, b, vl);
    case MF_BIN_SUB: return __riscv_vfsub_vv_f32m8(a, b, vl);
    case MF_BIN_MUL: return __riscv_vfmul_vv_f32m8(a, b, vl);
    case MF_BIN_DIV: return __riscv_vfdiv_vv_f32m8(a, b, vl);
    case MF_BIN_MAX: return __riscv_vfmax_vv_f32m8(a, b, vl);
    default: return __riscv_vfmin_vv_f32m8(a, b, vl);
    }
}

/* a op s (b broadcast) */
static inline vf binop_vf(mf_binop op, vf a, float s, size_t vl)
{
    switch (op) {
    case MF_BIN_ADD: return __riscv_vfadd_vf_f32m8(a, s, vl);
    case MF_BIN_SUB: return __riscv_vfsub_vf_f32m8(a, s, vl);
    case MF_BIN_MUL: return __riscv_vfmul_vf_f32m8(a, s, vl);
    case MF_BIN_DIV: return __riscv_vfdiv_vf_f32m8(a, s, vl);
    case MF_BIN_MAX: return __riscv_vfmax_vf_f32m8(a, s, vl);
    default: return __riscv_vfmin_vf_f32m8(a, s, vl);
    }
}

/* s op b (a broadcast) */
static inline vf binop_fv(mf_binop op, float s, vf b, size_t vl)
{
    switch (op) {
    case MF_BIN_SUB: return __riscv_vfrsub_vf_f32m8(b, s, vl);
    case MF_BIN_DIV: return __riscv_vfrdiv_vf_f32m8(b, s, vl);
    default: return binop_vf(op, b, s, vl); /* commutative */
    }
}

/* One innermost row of n outputs. */
static void row(mf_binop op, const float *a, int32_t sa, const float *b, int32_t sb, float *y,
                int32_t n, const mf_act *act)
{
    if (n <= 0) return;
    if (sa == 0 && sb == 0) { /* both broadcast: one value */
        const size_t vl0 = __riscv_vsetvl_e32m8(1);
        const vf v = act_v(binop_vf(op, __riscv_vfmv_v_f_f32m8(a[0], vl0), b[0], vl0), act, vl0);
        const float s = __riscv_vfmv_f_s_f32m8_f32(v);
        for (int32_t j = 0; j < n; ++j) y[j] = s;
        return;
    }
    for (int32_t j = 0; j < n;) {
        const size_t vl = __riscv_vsetvl_e32m8((size_t)(n - j));
        vf v;
        if (sb == 0) v = binop_vf(op, operand(a + j * sa, sa, vl), b[0], vl);
        else if (sa == 0) v = binop_fv(op, a[0], operand(b + j * sb, sb, vl), vl);
        else v = binop_vv(op, operand(a + j * sa, sa, vl), operand(b + j * sb, sb, vl), vl);
        __riscv_vse32_v_f32m8(y + j, act_v(v, act, vl), vl);
        j += (int32_t)vl;
    }
}

int mf_binary_f32_rvv(const float *a, const float *b, float *y, const mf_binary_desc *d)
{
    if (!a || !b || !y || !d || d->rank < 1 || d->rank > MF_MAX_RANK) return MF_EARG;
    const mf_act_kind k = d->act.kind;
    if (d->op == MF_BIN_POW || d->op == MF_BIN_PRELU ||
        !(k == MF_ACT_NONE || k == MF_ACT_RELU || k == MF_ACT_CLIP))
        return mf_binary_f32_ref(a, b, y, d);
    const int32_t r = d->rank, inner = d->shape[r - 1];
    int32_t idx[MF_MAX_RANK] = {0}, outer = 1;
    for (int32_t i = 0; i < r - 1; ++i) outer *= d->shape[i];
    for (int32_t o = 0; o < outer; ++o) {
        int32_t oa = 0, ob = 0;
        for (int32_t i = 0; i < r - 1; ++i) oa += idx[i] * d->a_stride[i], ob += idx[i] * d->b_stride[i];
        row(d->op, a + oa, d->a_stride[r - 1], b + ob, d->b_stride[r - 1], y + o * inner, inner, &d->act);
        for (int32_t i = r - 2; i >= 0; --i) { /* odometer over the outer dims */
            if (++idx[i] < d->shape[i]) break;
            idx[i] = 0;
        }
    }
    return MF_OK;
}
#endif
