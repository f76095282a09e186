/* Firmware fixture (tests/test_cluster_rvv.py): the parallel twins (par_*.c) against their
 * one-hart kernels, bit for bit, in one binary on the cluster board, on the kernel-harness
 * protocol (tests/kernels/kh.h). One unused input; the outputs hold a word per case (convs: the
 * RVV FP32 convs, train: FP32 training kernels, rows: matmul, softmax, LayerNorm, copy, pooling
 * backward, f16_train: FP16 training kernels): 1 where the twin's output equals the plain
 * kernel's bit for bit (and both returned MF_OK), 0 where not, -1 where the shape has no such
 * case. The whole run is measured: the plugin's per-hart counts show every hart worked.
 *
 * Shapes with tails: pixel counts off the 16-pixel chunk, maps with fewer chunks
 * than harts, odd channel counts, channel counts that leave the 6-row panel a remainder,
 * grouped, depthwise (DS-CNN's 25x5 planes, stride 2, planes wider than a vector), pointwise;
 * each with ReLU, no activation and a sigmoid (the unfused epilogue). The residual twin runs
 * in place over the skip and the overwrite twin with y == x, as the planner uses them. */
#include <math.h>
#include <string.h>

#include "kh.h"
#include "mf_conv_inplace.h" /* private: the overwrite schedule a shape takes */
#include "mf_kernels.h"

#define BUF 8192
#define HARTS_MAX 8
#define K_MAX 288 /* c_in / groups x k_h x k_w */
#define SCRATCH (K_MAX * MF_CONV_COLS_RVV + 64 * MF_CONV_COLS_RVV)

static float xa[BUF], wt[K_MAX * 64], bias[64], ya[BUF], yb[BUF], skip[BUF];
static float scratch_a[SCRATCH], scratch_b[HARTS_MAX * SCRATCH];

static const int32_t CONVS[][8] = { /* c_in, c_out, groups, k, stride, pad, h, w */
    {16, 16, 1, 3, 1, 1, 16, 16}, {3, 16, 1, 3, 1, 1, 13, 11}, {16, 32, 1, 1, 2, 0, 16, 16},
    {32, 64, 1, 3, 2, 0, 16, 16}, {32, 32, 1, 3, 1, 1, 8, 8},  {24, 40, 1, 1, 1, 0, 5, 7},
    {24, 23, 1, 1, 1, 0, 9, 9},   {12, 8, 4, 3, 2, 1, 9, 11},  {5, 7, 1, 3, 1, 1, 3, 3},
    {64, 64, 64, 3, 1, 1, 25, 5}, {24, 24, 24, 3, 1, 1, 9, 13}, {16, 16, 16, 3, 2, 1, 9, 9},
    {8, 8, 8, 3, 1, 1, 6, 20},
};
#define N_CONVS (int32_t)(sizeof CONVS / sizeof CONVS[0])
#define N_CASES (N_CONVS * 3 * 4) /* conv, residual, overwrite, depthwise slots per shape x act */
static float result[N_CASES];
#define N_TRAIN (N_CONVS * 2 + 1) /* bwd_input, bwd_weight per shape; the Adam update */
static float train_result[N_TRAIN];
static float dba[64], dbb[64];
#define N_ROWS 31 /* matmul / linear, softmax, LayerNorm, copy, pooling backward: see row_cases */
static float row_result[N_ROWS];
#define N_F16_TRAIN 16 /* FP16 training: see f16_train_cases */
static float f16_train_result[N_F16_TRAIN];

static uint32_t g_rng = 12345u;

static float rnd(void)
{
    g_rng = g_rng * 1664525u + 1013904223u;
    return (float)((g_rng >> 8) & 0xFFFFu) / 32768.0f - 1.0f;
}

static void fill(float *p, int32_t n)
{
    for (int32_t i = 0; i < n; ++i) p[i] = rnd();
}

/* 1: equal bits and both MF_OK; 0: different; -1 (a slot the shape has no case for) is left */
static float same(const float *a, const float *b, int32_t n, int sa, int sb)
{
    return (sa == MF_OK && sb == MF_OK && memcmp(a, b, (size_t)n * sizeof(float)) == 0) ? 1.0f : 0.0f;
}

static void train_cases(void);
static void row_cases(void);
static void f16_train_cases(void);

static int all_cases(void)
{
    static const mf_act_kind acts[] = {MF_ACT_RELU, MF_ACT_NONE, MF_ACT_SIGMOID};
    for (int32_t i = 0; i < N_CASES; ++i) result[i] = -1.0f;
    for (int32_t i = 0; i < N_CONVS; ++i)
        for (int32_t a = 0; a < 3; ++a) {
            const int32_t *c = CONVS[i];
            float *r = result + (i * 3 + a) * 4;
            mf_conv2d_desc d = {.n = 1, .c_in = c[0], .h_in = c[6], .w_in = c[7], .c_out = c[1],
                                .h_out = (c[6] + 2 * c[5] - c[3]) / c[4] + 1,
                                .w_out = (c[7] + 2 * c[5] - c[3]) / c[4] + 1, .k_h = c[3],
                                .k_w = c[3], .stride_h = c[4], .stride_w = c[4], .dil_h = 1,
                                .dil_w = 1, .pad_top = c[5], .pad_left = c[5], .groups = c[2],
                                .act = {.kind = acts[a]}};
            const int32_t nx = d.c_in * d.h_in * d.w_in, ny = d.c_out * d.h_out * d.w_out;
            const int32_t nmax = nx > ny ? nx : ny;
            fill(xa, nx);
            fill(wt, d.c_out * d.c_in / d.groups * d.k_h * d.k_w);
            fill(bias, d.c_out);
            fill(skip, ny);
            memset(ya, 0, sizeof ya);
            memset(yb, 0, sizeof yb);
            int sa = mf_conv2d_f32_rvv(xa, wt, bias, ya, &d, scratch_a);
            int sb = mf_conv2d_par_f32_rvv(xa, wt, bias, yb, &d, scratch_b);
            r[0] = same(ya, yb, ny, sa, sb);
            if (d.groups == 1) { /* in place over the skip */
                memcpy(ya, skip, (size_t)ny * 4);
                memcpy(yb, skip, (size_t)ny * 4);
                sa = mf_conv2d_residual_f32_rvv(xa, wt, bias, ya, ya, scratch_a, &d);
                sb = mf_conv2d_residual_par_f32_rvv(xa, wt, bias, yb, yb, scratch_b, &d);
                r[1] = same(ya, yb, ny, sa, sb);
            }
            if (mf_conv2d_overwrite_kind(&d) != MF_OVERWRITE_NONE) { /* y == x */
                memcpy(ya, xa, (size_t)nx * 4);
                memcpy(yb, xa, (size_t)nx * 4);
                sa = mf_conv2d_overwrite_f32_rvv(ya, wt, bias, ya, scratch_a, &d);
                sb = mf_conv2d_overwrite_par_f32_rvv(yb, wt, bias, yb, scratch_b, &d);
                r[2] = same(ya, yb, nmax, sa, sb);
            }
            if (mf_conv2d_is_depthwise(&d)) { /* the depthwise kernel itself, out of place */
                memset(ya, 0, sizeof ya);
                memset(yb, 0, sizeof yb);
                sa = mf_depthwise_f32_rvv(xa, wt, bias, ya, &d, NULL);
                sb = mf_depthwise_par_f32_rvv(xa, wt, bias, yb, &d, NULL);
                r[3] = same(ya, yb, ny, sa, sb);
            }
        }
    train_cases();
    row_cases();
    f16_train_cases();
    return 0;
}

_Static_assert(KH_OUT_CONVS_N == N_CASES && KH_OUT_TRAIN_N == N_TRAIN && KH_OUT_ROWS_N == N_ROWS &&
                   KH_OUT_F16_TRAIN_N == N_F16_TRAIN,
               "test_cluster_rvv.py sizes");

int kh_run(void)
{
    int st;
    KH_MEASURE(st = all_cases());
    memcpy(kh_out_convs, result, sizeof result);
    memcpy(kh_out_train, train_result, sizeof train_result);
    memcpy(kh_out_rows, row_result, sizeof row_result);
    memcpy(kh_out_f16_train, f16_train_result, sizeof f16_train_result);
    return st;
}

/* The training twins of par_train.c: input and weight gradients (groups 1 and depthwise; other
 * groupings stay on one hart and are not cases) and the Adam update. The one-hart scratch of
 * the backward kernels is shared by the harts, so the twin gets one copy (scratch_b's head);
 * the two weight gradients live further on in scratch_b (it holds 8 forward copies). */
static void train_cases(void)
{
    float *dw_a = scratch_b + 8192, *dw_b = scratch_b + 8192 + K_MAX * 64;
    for (int32_t i = 0; i < N_TRAIN; ++i) train_result[i] = -1.0f;
    for (int32_t i = 0; i < N_CONVS; ++i) {
        const int32_t *c = CONVS[i];
        mf_conv2d_desc d = {.n = 1, .c_in = c[0], .h_in = c[6], .w_in = c[7], .c_out = c[1],
                            .h_out = (c[6] + 2 * c[5] - c[3]) / c[4] + 1,
                            .w_out = (c[7] + 2 * c[5] - c[3]) / c[4] + 1, .k_h = c[3], .k_w = c[3],
                            .stride_h = c[4], .stride_w = c[4], .dil_h = 1, .dil_w = 1,
                            .pad_top = c[5], .pad_left = c[5], .groups = c[2]};
        if (d.groups != 1 && !mf_conv2d_is_depthwise(&d)) continue;
        const int32_t nx = d.c_in * d.h_in * d.w_in, ny = d.c_out * d.h_out * d.w_out;
        const int32_t nw = d.c_out * d.c_in / d.groups * d.k_h * d.k_w;
        fill(xa, nx);
        fill(wt, nw);
        fill(skip, ny); /* dy */
        memset(ya, 0x7f, sizeof ya); /* the kernels must write every dx */
        memset(yb, 0x7f, sizeof yb);
        int sa = mf_conv2d_bwd_input_f32_rvv(skip, wt, ya, &d, scratch_a);
        int sb = mf_conv2d_bwd_input_par_f32_rvv(skip, wt, yb, &d, scratch_b);
        train_result[2 * i] = same(ya, yb, nx, sa, sb);
        sa = mf_conv2d_bwd_weight_f32_rvv(xa, skip, dw_a, dba, &d, scratch_a);
        sb = mf_conv2d_bwd_weight_par_f32_rvv(xa, skip, dw_b, dbb, &d, scratch_b);
        train_result[2 * i + 1] = same(dw_a, dw_b, nw, sa, sb) * same(dba, dbb, d.c_out, MF_OK, MF_OK);
    }
    /* Adam, step 3, 1001 weights (a tail off the 16-element grain) */
    const mf_adam_desc ad = {.lr = 0.01f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .weight_decay = 0.01f};
    float *ma = scratch_a, *va = scratch_a + 1024, *mb = scratch_b, *vb = scratch_b + 1024;
    fill(xa, 1001);
    fill(skip, 1001);
    fill(ma, 1001);
    fill(va, 1001);
    for (int32_t q = 0; q < 1001; ++q) {
        va[q] = va[q] * va[q];
        ya[q] = yb[q] = xa[q];
        mb[q] = ma[q];
        vb[q] = va[q];
    }
    const int sa = mf_adam_update_f32_ref(ya, skip, ma, va, 1001, &ad, 3);
    const int sb = mf_adam_update_par_f32_ref(yb, skip, mb, vb, 1001, &ad, 3);
    train_result[N_TRAIN - 1] = same(ya, yb, 1001, sa, sb) * same(ma, mb, 1001, MF_OK, MF_OK) *
                                same(va, vb, 1001, MF_OK, MF_OK);
}

/* FP16 copies of a float buffer's values, in the buffer's own storage from element `at` on */
static mf_f16 *half(float *buf, int32_t at, const float *src, int32_t n)
{
    mf_f16 *h = (mf_f16 *)(buf + at);
    for (int32_t i = 0; i < n; ++i) h[i] = (mf_f16)src[i];
    return h;
}

static float same16(const mf_f16 *a, const mf_f16 *b, int32_t n, int sa, int sb)
{
    return (sa == MF_OK && sb == MF_OK && memcmp(a, b, (size_t)n * sizeof(mf_f16)) == 0) ? 1.0f : 0.0f;
}

/* Matmul / linear (par_gemm.c): one row (columns split, a bias row C), 37 rows (rows split,
 * alpha and ReLU), a batch of 1 x 3 (the batch split, past a leading 1), B transposed (the
 * kernels' reference fallback); FP32 ref and rvv, FP16 ref and rvv on the first three.
 * Softmax (par_norm.c) over 13 contiguous rows and 4 slabs of a strided axis, LayerNorm over 11
 * rows with gamma, beta, mean and rstd; FP32 ref, FP16 ref and rvv. The copy (par_copy.c) and
 * pooling backward (par_pool.c) in FP32 and FP16. */
static void row_cases(void)
{
    static const int32_t G[4][7] = { /* m, n, k, batches, transposed B, bias row, relu */
        {1, 10, 64, 1, 0, 1, 0}, {37, 29, 24, 1, 0, 0, 1}, {5, 7, 9, 3, 0, 0, 0}, {6, 11, 13, 1, 1, 0, 0}};
    int32_t r = 0;
    for (int32_t t = 0; t < 4; ++t) {
        const int32_t *g = G[t];
        mf_gemm_desc d = {.m = g[0], .n = g[1], .k = g[2], .a_rs = g[2], .a_cs = 1,
                          .b_rs = g[4] ? 1 : g[1], .b_cs = g[4] ? g[2] : 1, .c_rs = 0, .c_cs = 1,
                          .alpha = g[6] ? 0.5f : 1.0f, .beta = 1.0f,
                          .act = {.kind = g[6] ? MF_ACT_RELU : MF_ACT_NONE}};
        if (g[3] > 1) {
            d.batch_rank = 2;
            d.batch_shape[0] = 1;
            d.batch_shape[1] = g[3];
            d.a_bstride[1] = g[0] * g[2];
            d.b_bstride[1] = g[2] * g[1];
        }
        const int32_t na = g[3] * g[0] * g[2], nb = g[3] * g[2] * g[1], ny = g[3] * g[0] * g[1];
        const float *c = g[5] ? skip : NULL;
        fill(xa, na);
        fill(wt, nb);
        fill(skip, g[1]);
        row_result[r++] = same(ya, yb, ny, mf_gemm_f32_ref(xa, wt, c, ya, &d), mf_gemm_par_f32_ref(xa, wt, c, yb, &d));
        row_result[r++] = same(ya, yb, ny, mf_gemm_f32_rvv(xa, wt, c, ya, &d), mf_gemm_par_f32_rvv(xa, wt, c, yb, &d));
        if (g[4]) continue;
        const mf_f16 *ha = half(scratch_a, 0, xa, na), *hb = half(scratch_a, 2048, wt, nb);
        const mf_f16 *hc = c ? half(scratch_a, 4096, skip, g[1]) : NULL;
        mf_f16 *y1 = (mf_f16 *)ya, *y2 = (mf_f16 *)yb;
        row_result[r++] = same16(y1, y2, ny, mf_gemm_f16_ref(ha, hb, hc, y1, &d), mf_gemm_par_f16_ref(ha, hb, hc, y2, &d));
        row_result[r++] = same16(y1, y2, ny, mf_gemm_f16_rvv(ha, hb, hc, y1, &d), mf_gemm_par_f16_rvv(ha, hb, hc, y2, &d));
    }
    const mf_softmax_desc sm[2] = {{.outer = 13, .axis_len = 10, .inner = 1}, {.outer = 4, .axis_len = 5, .inner = 3}};
    for (int32_t t = 0; t < 2; ++t) {
        const int32_t n = sm[t].outer * sm[t].axis_len * sm[t].inner;
        fill(xa, n);
        row_result[r++] = same(ya, yb, n, mf_softmax_f32_ref(xa, ya, &sm[t]), mf_softmax_par_f32_ref(xa, yb, &sm[t]));
        const mf_f16 *hx = half(scratch_a, 0, xa, n);
        mf_f16 *y1 = (mf_f16 *)ya, *y2 = (mf_f16 *)yb;
        row_result[r++] = same16(y1, y2, n, mf_softmax_f16_ref(hx, y1, &sm[t]), mf_softmax_par_f16_ref(hx, y2, &sm[t]));
        row_result[r++] = same16(y1, y2, n, mf_softmax_f16_rvv(hx, y1, &sm[t]), mf_softmax_par_f16_rvv(hx, y2, &sm[t]));
    }
    const mf_layernorm_desc ln = {.rows = 11, .cols = 24, .eps = 1e-5f};
    fill(xa, 11 * 24);
    fill(wt, 48);
    float *m1 = scratch_a + 6144, *m2 = m1 + 64; /* mean, then rstd, per row */
    memset(m1, 0, 128 * sizeof(float));
    int sa = mf_layernorm_f32_ref(xa, wt, wt + 24, ya, m1, m1 + 32, &ln);
    int sb = mf_layernorm_par_f32_ref(xa, wt, wt + 24, yb, m2, m2 + 32, &ln);
    row_result[r++] = same(ya, yb, 11 * 24, sa, sb) * same(m1, m2, 64, MF_OK, MF_OK);
    const mf_f16 *hx = half(scratch_a, 0, xa, 11 * 24), *hg = half(scratch_a, 512, wt, 48);
    mf_f16 *y1 = (mf_f16 *)ya, *y2 = (mf_f16 *)yb, *s1 = (mf_f16 *)m1, *s2 = (mf_f16 *)m2;
    memset(m1, 0, 128 * sizeof(float));
    sa = mf_layernorm_f16_ref(hx, hg, hg + 24, y1, s1, s1 + 32, &ln);
    sb = mf_layernorm_par_f16_ref(hx, hg, hg + 24, y2, s2, s2 + 32, &ln);
    row_result[r++] = same16(y1, y2, 11 * 24, sa, sb) * same16(s1, s2, 64, MF_OK, MF_OK);
    sa = mf_layernorm_f16_rvv(hx, hg, hg + 24, y1, s1, s1 + 32, &ln);
    sb = mf_layernorm_par_f16_rvv(hx, hg, hg + 24, y2, s2, s2 + 32, &ln);
    row_result[r++] = same16(y1, y2, 11 * 24, sa, sb) * same16(s1, s2, 64, MF_OK, MF_OK);
    /* copy: NHWC -> NCHW of a 1x32x32x3 input (batch 1: the split takes the next dimension),
     * and a gather of 5 of 7 rows (an index on the split dimension, one row filled) */
    static const int32_t rows5[5] = {6, 0, -1, 3, 3};
    const mf_copy_desc cp[2] = {
        {.rank = 4, .shape = {1, 3, 32, 32}, .in_stride = {3072, 1, 96, 3}, .out_stride = {3072, 1024, 32, 1}},
        {.rank = 2, .shape = {5, 9}, .in_stride = {9, 1}, .out_stride = {9, 1}, .index = {rows5, 0},
         .fill = 0.5f}};
    for (int32_t t = 0; t < 2; ++t) {
        fill(xa, 3072);
        const int32_t n = t ? 45 : 3072;
        row_result[r++] = same(ya, yb, n, mf_copy_f32_ref(xa, ya, &cp[t]), mf_copy_par_f32_ref(xa, yb, &cp[t]));
        const mf_f16 *hx = half(scratch_a, 0, xa, 3072);
        y1 = (mf_f16 *)ya;
        y2 = (mf_f16 *)yb;
        row_result[r++] = same16(y1, y2, n, mf_copy_f16_ref(hx, y1, &cp[t]), mf_copy_par_f16_ref(hx, y2, &cp[t]));
    }
    /* pooling backward: ResNet-8's global average (64 planes 8x8), a padded 3x3 stride-2 max */
    const mf_pool2d_desc pb[2] = {
        {.nc = 64, .h_in = 8, .w_in = 8, .h_out = 1, .w_out = 1, .k_h = 8, .k_w = 8, .stride_h = 8,
         .stride_w = 8, .dil_h = 1, .dil_w = 1},
        {.nc = 13, .h_in = 9, .w_in = 7, .h_out = 5, .w_out = 4, .k_h = 3, .k_w = 3, .stride_h = 2,
         .stride_w = 2, .dil_h = 1, .dil_w = 1, .pad_top = 1, .pad_left = 1, .pad_bottom = 1,
         .pad_right = 1}};
    for (int32_t t = 0; t < 2; ++t) {
        const mf_pool2d_desc *p = &pb[t];
        const int32_t nx = p->nc * p->h_in * p->w_in, ny = p->nc * p->h_out * p->w_out;
        fill(xa, nx);
        fill(skip, ny);
        if (t == 0) {
            row_result[r++] = same(ya, yb, nx, mf_avgpool2d_bwd_input_f32_ref(skip, ya, p),
                                   mf_avgpool2d_bwd_input_par_f32_ref(skip, yb, p));
        } else {
            row_result[r++] = same(ya, yb, nx, mf_maxpool2d_bwd_input_f32_ref(skip, xa, ya, p),
                                   mf_maxpool2d_bwd_input_par_f32_ref(skip, xa, yb, p));
        }
        const mf_f16 *hx = half(scratch_a, 0, xa, nx), *hdy = half(scratch_a, 4096, skip, ny);
        y1 = (mf_f16 *)ya;
        y2 = (mf_f16 *)yb;
        if (t == 0) {
            row_result[r++] = same16(y1, y2, nx, mf_avgpool2d_bwd_input_f16_ref(hdy, y1, p),
                                     mf_avgpool2d_bwd_input_par_f16_ref(hdy, y2, p));
        } else {
            row_result[r++] = same16(y1, y2, nx, mf_maxpool2d_bwd_input_f16_ref(hdy, hx, y1, p),
                                     mf_maxpool2d_bwd_input_par_f16_ref(hdy, hx, y2, p));
        }
    }
}

/* FP16 training twins (par_train_f16.c): input and weight gradients on six shapes (3x3, first
 * layer, stride 2 on a small map, pointwise, depthwise at stride 1 and 2), the SGD update with
 * finite gradients and with one infinite gradient (the whole tensor is skipped and the loss
 * scale flags the overflow, as on one hart), Adam, and the activation backward. */
static void f16_train_cases(void)
{
    static const int32_t S[6] = {0, 1, 3, 5, 9, 11}; /* rows of CONVS */
    mf_f16 *dw_a = (mf_f16 *)(scratch_b + 8192), *dw_b = (mf_f16 *)(scratch_b + 8192 + K_MAX * 64);
    mf_f16 *db_a = (mf_f16 *)dba, *db_b = (mf_f16 *)dbb;
    int32_t r = 0;
    for (int32_t t = 0; t < 6; ++t) {
        const int32_t *c = CONVS[S[t]];
        mf_conv2d_desc d = {.n = 1, .c_in = c[0], .h_in = c[6], .w_in = c[7], .c_out = c[1],
                            .h_out = (c[6] + 2 * c[5] - c[3]) / c[4] + 1,
                            .w_out = (c[7] + 2 * c[5] - c[3]) / c[4] + 1, .k_h = c[3], .k_w = c[3],
                            .stride_h = c[4], .stride_w = c[4], .dil_h = 1, .dil_w = 1,
                            .pad_top = c[5], .pad_left = c[5], .groups = c[2]};
        const int32_t nx = d.c_in * d.h_in * d.w_in, ny = d.c_out * d.h_out * d.w_out;
        const int32_t nw = d.c_out * d.c_in / d.groups * d.k_h * d.k_w;
        fill(ya, nx);
        fill(yb, nw);
        fill(skip, ny);
        const mf_f16 *hx = half(xa, 0, ya, nx), *hw = half(wt, 0, yb, nw), *hdy = half(skip, 0, skip, ny);
        mf_f16 *dx_a = (mf_f16 *)ya, *dx_b = (mf_f16 *)yb;
        memset(ya, 0x7f, sizeof ya);
        memset(yb, 0x7f, sizeof yb);
        int sa = mf_conv2d_bwd_input_f16_rvv(hdy, hw, dx_a, &d, (mf_f16 *)scratch_a);
        int sb = mf_conv2d_bwd_input_par_f16_rvv(hdy, hw, dx_b, &d, (mf_f16 *)scratch_b);
        f16_train_result[r++] = same16(dx_a, dx_b, nx, sa, sb);
        sa = mf_conv2d_bwd_weight_f16_rvv(hx, hdy, dw_a, db_a, &d, (mf_f16 *)scratch_a);
        sb = mf_conv2d_bwd_weight_par_f16_rvv(hx, hdy, dw_b, db_b, &d, (mf_f16 *)scratch_b);
        f16_train_result[r++] = same16(dw_a, dw_b, nw, sa, sb) * same16(db_a, db_b, d.c_out, MF_OK, MF_OK);
    }
    /* SGD: FP32 master weights and momentum, FP16 gradient and copy; 1001 weights */
    const mf_sgd_desc sd = {.lr = 0.01f, .momentum = 0.9f, .weight_decay = 0.001f};
    for (int32_t inf = 0; inf < 2; ++inf) {
        mf_loss_scale la = {.scale = 256.0f, .min_scale = 1.0f, .growth_interval = 100}, lb = la;
        fill(xa, 1001);
        fill(skip, 1001);
        float *ma = scratch_a, *mb = scratch_b;
        fill(ma, 1001);
        memcpy(ya, xa, 1001 * sizeof(float));
        memcpy(yb, xa, 1001 * sizeof(float));
        memcpy(mb, ma, 1001 * sizeof(float));
        mf_f16 *g = half(skip, 0, skip, 1001), *ha = (mf_f16 *)(scratch_a + 2048), *hb = (mf_f16 *)(scratch_b + 2048);
        if (inf) g[977] = (mf_f16)INFINITY; /* in the last hart's range */
        memset(ha, 0, 1001 * 2);
        memset(hb, 0, 1001 * 2);
        const int sa = mf_sgd_update_f16_ref(ya, g, ma, ha, 1001, &sd, &la);
        const int sb = mf_sgd_update_par_f16_ref(yb, g, mb, hb, 1001, &sd, &lb);
        f16_train_result[r++] = same(ya, yb, 1001, sa, sb) * same(ma, mb, 1001, MF_OK, MF_OK) *
                                same16(ha, hb, 1001, MF_OK, MF_OK) * (la.overflow == lb.overflow ? 1.0f : 0.0f) *
                                (la.overflow == inf ? 1.0f : 0.0f);
    }
    /* Adam, step 2, finite gradients */
    {
        const mf_adam_desc ad = {.lr = 0.01f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .weight_decay = 0.0f};
        mf_loss_scale la = {.scale = 64.0f, .min_scale = 1.0f, .growth_interval = 100}, lb = la;
        float *ma = scratch_a, *va = scratch_a + 1024, *mb = scratch_b, *vb = scratch_b + 1024;
        fill(xa, 1001);
        fill(skip, 1001);
        fill(ma, 1001);
        fill(va, 1001);
        for (int32_t q = 0; q < 1001; ++q) {
            va[q] *= va[q];
            ya[q] = yb[q] = xa[q];
            mb[q] = ma[q];
            vb[q] = va[q];
        }
        mf_f16 *g = half(skip, 0, skip, 1001), *ha = (mf_f16 *)(scratch_a + 3072), *hb = (mf_f16 *)(scratch_b + 3072);
        const int sa = mf_adam_update_f16_ref(ya, g, ma, va, ha, 1001, &ad, 2, &la);
        const int sb = mf_adam_update_par_f16_ref(yb, g, mb, vb, hb, 1001, &ad, 2, &lb);
        f16_train_result[r++] = same(ya, yb, 1001, sa, sb) * same(ma, mb, 1001, MF_OK, MF_OK) *
                                same(va, vb, 1001, MF_OK, MF_OK) * same16(ha, hb, 1001, MF_OK, MF_OK);
    }
    /* activation backward: ReLU from the output, 1001 elements */
    const mf_act relu = {.kind = MF_ACT_RELU};
    fill(xa, 1001);
    fill(skip, 1001);
    const mf_f16 *hv = half(xa, 0, xa, 1001), *hg = half(skip, 0, skip, 1001);
    f16_train_result[r++] = same16((mf_f16 *)ya, (mf_f16 *)yb, 1001,
                                   mf_act_bwd_input_f16_ref(hg, hv, (mf_f16 *)ya, 1001, &relu, 1),
                                   mf_act_bwd_input_par_f16_ref(hg, hv, (mf_f16 *)yb, 1001, &relu, 1));
}
