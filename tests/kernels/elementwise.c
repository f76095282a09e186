/* Element-wise kernel harness (tests/test_elementwise_simd.py): every case below runs the fast
 * kernel (EW_UNARY / EW_BINARY, e.g. mf_unary_f32_rvv) and the reference on the same data in
 * one binary; output 0 is the fast results of all cases one after the other, output 1 the
 * reference's. Lengths are not multiples of the vector length (tails), a few are shorter than
 * one vector, and one unary case runs in place. Only the fast kernels are counted.
 * The kernel-harness protocol (kh.h): input x, outputs fast and ref. */
#include <string.h>

#include "kh.h"
#include "mf_elementwise.h"

#define N_IN 256
#define N_OUT 1024
_Static_assert(KH_IN_X_N == N_IN && KH_OUT_FAST_N == N_OUT && KH_OUT_REF_N == N_OUT, "harness.py sizes");

typedef struct {
    mf_act act;
    int32_t n;
    int inplace;
} unary_case;

static const unary_case UNARY[] = {
    {{MF_ACT_RELU, 0.0f, 0.0f}, 37, 0},          {{MF_ACT_RELU, 0.0f, 0.0f}, 3, 1},
    {{MF_ACT_CLIP, -0.3f, 0.4f}, 45, 0},         {{MF_ACT_LEAKY_RELU, 0.1f, 0.0f}, 33, 0},
    {{MF_ACT_HARD_SIGMOID, 0.2f, 0.5f}, 19, 0}, {{MF_ACT_AFFINE, 1.5f, -0.2f}, 7, 0},
    {{MF_ACT_NEG, 0.0f, 0.0f}, 5, 0},            {{MF_ACT_ABS, 0.0f, 0.0f}, 66, 1},
    {{MF_ACT_NONE, 0.0f, 0.0f}, 9, 0},           {{MF_ACT_SIGMOID, 0.0f, 0.0f}, 13, 0}, /* fallback */
};

/* rank, shape, a strides, b strides, op, act: a reads in[], b reads in[128..] */
static const mf_binary_desc BINARY[] = {
    {2, {5, 13}, {13, 1}, {13, 1}, MF_BIN_ADD, {MF_ACT_NONE, 0.0f, 0.0f}},
    {2, {6, 11}, {11, 1}, {1, 0}, MF_BIN_ADD, {MF_ACT_RELU, 0.0f, 0.0f}}, /* per-channel bias */
    {2, {3, 9}, {9, 1}, {0, 1}, MF_BIN_MUL, {MF_ACT_NONE, 0.0f, 0.0f}},   /* row broadcast */
    {2, {4, 7}, {1, 0}, {7, 1}, MF_BIN_SUB, {MF_ACT_NONE, 0.0f, 0.0f}},   /* a broadcast */
    {2, {6, 5}, {5, 1}, {1, 0}, MF_BIN_SUB, {MF_ACT_CLIP, -0.2f, 0.3f}},
    {1, {37}, {1}, {0}, MF_BIN_MAX, {MF_ACT_CLIP, -0.5f, 0.25f}},        /* scalar b */
    {2, {3, 10}, {10, 1}, {10, 1}, MF_BIN_MIN, {MF_ACT_RELU, 0.0f, 0.0f}},
    {2, {2, 35}, {35, 1}, {35, 1}, MF_BIN_DIV, {MF_ACT_NONE, 0.0f, 0.0f}},
    {2, {4, 7}, {7, 1}, {1, 0}, MF_BIN_DIV, {MF_ACT_NONE, 0.0f, 0.0f}},
    {2, {5, 6}, {1, 5}, {6, 1}, MF_BIN_ADD, {MF_ACT_NONE, 0.0f, 0.0f}},   /* a read transposed */
    {2, {3, 4}, {1, 0}, {0, 0}, MF_BIN_MUL, {MF_ACT_NONE, 0.0f, 0.0f}},   /* both broadcast */
    {3, {2, 3, 17}, {51, 17, 1}, {3, 1, 0}, MF_BIN_MUL, {MF_ACT_RELU, 0.0f, 0.0f}},
    {2, {4, 9}, {9, 1}, {9, 1}, MF_BIN_PRELU, {MF_ACT_NONE, 0.0f, 0.0f}}, /* fallback */
};

static float ya[N_IN], yb[N_IN];

static int32_t count(const mf_binary_desc *d)
{
    int32_t n = 1;
    for (int32_t i = 0; i < d->rank; ++i) n *= d->shape[i];
    return n;
}

int kh_run(void)
{
    int32_t o = 0;
    int st = 0;
    for (uint32_t c = 0; c < sizeof UNARY / sizeof UNARY[0]; ++c) {
        const unary_case *u = &UNARY[c];
        int s1 = mf_unary_f32_ref(kh_in_x, ya, u->n, &u->act), s2;
        if (u->inplace) {
            memcpy(yb, kh_in_x, sizeof(float) * (size_t)u->n);
            KH_MEASURE(s2 = EW_UNARY(yb, yb, u->n, &u->act));
        } else {
            KH_MEASURE(s2 = EW_UNARY(kh_in_x, yb, u->n, &u->act));
        }
        st |= s1 | s2;
        memcpy(kh_out_fast + o, yb, sizeof(float) * (size_t)u->n);
        memcpy(kh_out_ref + o, ya, sizeof(float) * (size_t)u->n);
        o += u->n;
    }
    for (uint32_t c = 0; c < sizeof BINARY / sizeof BINARY[0]; ++c) {
        const mf_binary_desc *d = &BINARY[c];
        const int32_t n = count(d);
        int s1 = mf_binary_f32_ref(kh_in_x, kh_in_x + 128, ya, d), s2;
        KH_MEASURE(s2 = EW_BINARY(kh_in_x, kh_in_x + 128, yb, d));
        st |= s1 | s2;
        memcpy(kh_out_fast + o, yb, sizeof(float) * (size_t)n);
        memcpy(kh_out_ref + o, ya, sizeof(float) * (size_t)n);
        o += n;
    }
    return st;
}
