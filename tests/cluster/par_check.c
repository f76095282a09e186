/* Each parallel twin (runtime_c/src/par_*.c) against its plain kernel, bit for bit, on shapes
 * with tails: pixel counts that are not a multiple of the chunk, maps smaller than one chunk
 * per hart, odd channel counts, depthwise, pointwise, residual in place, overwrite in place,
 * pooling and broadcast binaries. Built with mf_cluster_serial.c and -DMF_HARTS=N, so every
 * hart's share runs (in turn) with the splits of an N-hart cluster. Prints one line per case
 * and "PAR_CHECK <failures>" last. */
#include <stdio.h>
#include <string.h>

#include "mf_kernels.h"
#include "mf_conv_inplace.h" /* mf_conv2d_overwrite_kind: which convs may run over their input */

static uint32_t g_rng = 12345u;

static float rnd(void)
{
    g_rng = g_rng * 1664525u + 1013904223u;
    return (float)((g_rng >> 8) & 0xFFFFu) / 32768.0f - 1.0f;
}

#define BUF 65536
static float xa[BUF], xb[BUF], wt[BUF], bias[512], ya[BUF], yb[BUF], skip[BUF];
static float scratch_a[BUF], scratch_b[8 * BUF];
static int g_failures;

static void fill(float *p, int32_t n)
{
    for (int32_t i = 0; i < n; ++i) p[i] = rnd();
}

static void check(const char *what, const void *a, const void *b, int32_t bytes, int sa, int sb)
{
    const int ok = sa == MF_OK && sb == MF_OK && memcmp(a, b, (size_t)bytes) == 0;
    printf("%s %s\n", ok ? "ok  " : "FAIL", what);
    g_failures += !ok;
}

static mf_conv2d_desc conv(int32_t c_in, int32_t c_out, int32_t g, int32_t k, int32_t s, int32_t p,
                           int32_t h, int32_t w, mf_act_kind act)
{
    mf_conv2d_desc d = {.n = 1, .c_in = c_in, .h_in = h, .w_in = w, .c_out = c_out,
                        .h_out = (h + 2 * p - k) / s + 1, .w_out = (w + 2 * p - k) / s + 1,
                        .k_h = k, .k_w = k, .stride_h = s, .stride_w = s, .dil_h = 1, .dil_w = 1,
                        .pad_top = p, .pad_left = p, .groups = g, .act = {.kind = act}};
    return d;
}

static const int32_t CONVS[][8] = { /* c_in, c_out, groups, k, stride, pad, h, w */
    {16, 16, 1, 3, 1, 1, 32, 32}, {3, 16, 1, 3, 1, 1, 13, 11}, {16, 32, 1, 1, 2, 0, 16, 16},
    {32, 64, 1, 3, 2, 0, 16, 16}, {64, 64, 1, 3, 1, 1, 8, 8},   {24, 40, 1, 1, 1, 0, 5, 7},
    {24, 24, 24, 3, 1, 1, 9, 13}, {12, 8, 4, 3, 2, 1, 9, 11},   {5, 7, 1, 3, 1, 1, 3, 3},
};

int main(void)
{
    char what[160];
    const mf_act_kind acts[] = {MF_ACT_RELU, MF_ACT_NONE, MF_ACT_SIGMOID};
    for (size_t i = 0; i < sizeof CONVS / sizeof CONVS[0]; ++i)
        for (size_t a = 0; a < 3; ++a) {
            const int32_t *c = CONVS[i];
            mf_conv2d_desc d = conv(c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], acts[a]);
            const int32_t nx = d.c_in * d.h_in * d.w_in, ny = d.c_out * d.h_out * d.w_out;
            fill(xa, nx);
            fill(wt, d.c_out * d.c_in / d.groups * d.k_h * d.k_w);
            fill(bias, d.c_out);
            fill(skip, ny);
            memset(ya, 0, sizeof ya);
            memset(yb, 0, sizeof yb);
            snprintf(what, sizeof what, "conv %dx%d g%d k%d s%d %dx%d act%d", (int)d.c_in,
                     (int)d.c_out, (int)d.groups, (int)d.k_h, (int)d.stride_h, (int)d.h_in,
                     (int)d.w_in, (int)acts[a]);
            int sa = mf_conv2d_f32_dsp(xa, wt, bias, ya, &d, scratch_a);
            int sb = mf_conv2d_par_f32_dsp(xa, wt, bias, yb, &d, scratch_b);
            check(what, ya, yb, ny * 4, sa, sb);
            if (d.groups == 1) { /* residual, in place over the skip as the planner uses it */
                memcpy(ya, skip, (size_t)ny * 4);
                memcpy(yb, skip, (size_t)ny * 4);
                sa = mf_conv2d_residual_f32_dsp(xa, wt, bias, ya, ya, scratch_a, &d);
                sb = mf_conv2d_residual_par_f32_dsp(xa, wt, bias, yb, yb, scratch_b, &d);
                snprintf(what + strlen(what), sizeof what - strlen(what), " residual");
                check(what, ya, yb, ny * 4, sa, sb);
            }
            if (mf_conv2d_overwrite_kind(&d) != MF_OVERWRITE_NONE) { /* y == x */
                memcpy(ya, xa, (size_t)nx * 4);
                memcpy(yb, xa, (size_t)nx * 4);
                sa = mf_conv2d_overwrite_f32_dsp(ya, wt, bias, ya, scratch_a, &d);
                sb = mf_conv2d_overwrite_par_f32_dsp(yb, wt, bias, yb, scratch_b, &d);
                snprintf(what + strlen(what), sizeof what - strlen(what), " overwrite");
                check(what, ya, yb, (nx > ny ? nx : ny) * 4, sa, sb);
#if defined(__FLT16_MAX__)
                mf_f16 *ha = (mf_f16 *)ya, *hb = (mf_f16 *)yb, *hw = (mf_f16 *)xb;
                mf_f16 *hbias = (mf_f16 *)skip;
                for (int32_t q = 0; q < nx; ++q) ha[q] = hb[q] = (mf_f16)xa[q];
                for (int32_t q = 0; q < d.c_out * d.c_in / d.groups; ++q) hw[q] = (mf_f16)wt[q];
                for (int32_t q = 0; q < d.c_out; ++q) hbias[q] = (mf_f16)bias[q];
                sa = mf_conv2d_overwrite_f16_ref(ha, hw, hbias, ha, (mf_f16 *)scratch_a, &d);
                sb = mf_conv2d_overwrite_par_f16_ref(hb, hw, hbias, hb, (mf_f16 *)scratch_b, &d);
                snprintf(what + strlen(what), sizeof what - strlen(what), " f16");
                check(what, ha, hb, (nx > ny ? nx : ny) * 2, sa, sb);
#endif
            }
        }
    /* pooling: 64 planes of 8x8 (ResNet-8's global pool), 13 planes 9x7 with pads */
    const mf_pool2d_desc pools[] = {
        {.nc = 64, .h_in = 8, .w_in = 8, .h_out = 1, .w_out = 1, .k_h = 8, .k_w = 8, .stride_h = 8,
         .stride_w = 8, .dil_h = 1, .dil_w = 1},
        {.nc = 13, .h_in = 9, .w_in = 7, .h_out = 5, .w_out = 4, .k_h = 3, .k_w = 3, .stride_h = 2,
         .stride_w = 2, .dil_h = 1, .dil_w = 1, .pad_top = 1, .pad_left = 1, .pad_bottom = 1,
         .pad_right = 1},
    };
    for (size_t i = 0; i < 2; ++i) {
        const mf_pool2d_desc *p = &pools[i];
        fill(xa, p->nc * p->h_in * p->w_in);
        const int32_t ny = p->nc * p->h_out * p->w_out;
        snprintf(what, sizeof what, "avgpool nc%d %dx%d", (int)p->nc, (int)p->h_in, (int)p->w_in);
        check(what, ya, yb, ny * 4, mf_avgpool2d_f32_ref(xa, ya, p), mf_avgpool2d_par_f32_ref(xa, yb, p));
        snprintf(what, sizeof what, "maxpool nc%d %dx%d", (int)p->nc, (int)p->h_in, (int)p->w_in);
        check(what, ya, yb, ny * 4, mf_maxpool2d_f32_ref(xa, ya, p), mf_maxpool2d_par_f32_ref(xa, yb, p));
    }
    /* binaries: same shape (in place over a), and a broadcast of b over the outer dims */
    mf_binary_desc same = {.rank = 1, .shape = {1001}, .a_stride = {1}, .b_stride = {1},
                           .op = MF_BIN_ADD, .act = {.kind = MF_ACT_RELU}};
    mf_binary_desc bcast = {.rank = 3, .shape = {5, 3, 7}, .a_stride = {21, 7, 1},
                            .b_stride = {0, 7, 1}, .op = MF_BIN_MUL};
    const mf_binary_desc *bins[] = {&same, &bcast};
    for (size_t i = 0; i < 2; ++i) {
        fill(xa, 1001);
        fill(xb, 1001);
        memcpy(ya, xa, 1001 * 4);
        memcpy(yb, xa, 1001 * 4);
        snprintf(what, sizeof what, "binary rank %d", (int)bins[i]->rank);
        check(what, ya, yb, 1001 * 4, mf_binary_f32_ref(ya, xb, ya, bins[i]),
              mf_binary_par_f32_ref(yb, xb, yb, bins[i]));
    }
    printf("PAR_CHECK %d\n", g_failures);
    return g_failures != 0;
}
