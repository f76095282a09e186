/* Host harness for the dsp depthwise kernel (tests/test_depthwise.py): for the descriptor on
 * the command line (n c h w k_h k_w s_h s_w d_h d_w pad_top pad_left pad_bottom pad_right act),
 * seeded data, the reference, the kernel out of place and the kernel over its own input (y == x,
 * scratch malloc'ed at exactly mf_conv2d_overwrite_scratch_bytes so the sanitizer catches an
 * overrun). Prints the max |fast - ref| of both runs, then max |mf_depthwise_f32_ref - conv ref|
 * (its reference twin must be the reference conv). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mf_conv_inplace.h"
#include "mf_depthwise.h"

static const mf_act_kind ACTS[] = {MF_ACT_NONE, MF_ACT_RELU, MF_ACT_CLIP, MF_ACT_SIGMOID};

int main(int argc, char **argv)
{
    if (argc != 16) return 2;
    int v[15];
    for (int i = 0; i < 15; ++i) v[i] = atoi(argv[i + 1]);
    mf_conv2d_desc d = {0};
    d.n = v[0], d.c_in = d.c_out = d.groups = v[1], d.h_in = v[2], d.w_in = v[3];
    d.k_h = v[4], d.k_w = v[5], d.stride_h = v[6], d.stride_w = v[7], d.dil_h = v[8], d.dil_w = v[9];
    d.pad_top = v[10], d.pad_left = v[11];
    d.h_out = (d.h_in + v[10] + v[12] - (d.k_h - 1) * d.dil_h - 1) / d.stride_h + 1;
    d.w_out = (d.w_in + v[11] + v[13] - (d.k_w - 1) * d.dil_w - 1) / d.stride_w + 1;
    d.act.kind = ACTS[v[14]], d.act.alpha = 0.0f, d.act.beta = 0.5f;
    const int32_t nx = d.n * d.c_in * d.h_in * d.w_in, ny = d.n * d.c_out * d.h_out * d.w_out;
    const int32_t nw = d.c_out * d.k_h * d.k_w;
    float *x = malloc(sizeof(float) * (size_t)nx), *w = malloc(sizeof(float) * (size_t)nw);
    float *b = malloc(sizeof(float) * (size_t)d.c_out), *yr = malloc(sizeof(float) * (size_t)ny);
    float *yf = malloc(sizeof(float) * (size_t)ny);
    uint32_t s = 12345u;
    for (int32_t i = 0; i < nx; ++i) x[i] = (float)((s = s * 1664525u + 1013904223u) >> 8) / 16777216.0f - 0.5f;
    for (int32_t i = 0; i < nw; ++i) w[i] = (float)((s = s * 1664525u + 1013904223u) >> 8) / 16777216.0f - 0.5f;
    for (int32_t i = 0; i < d.c_out; ++i) b[i] = 0.1f * (float)(i % 5) - 0.2f;
    if (mf_conv2d_f32_ref(x, w, b, yr, &d) != MF_OK) return 3;
    if (mf_depthwise_f32_dsp(x, w, b, yf, &d, NULL) != MF_OK) return 4;
    float *yd = malloc(sizeof(float) * (size_t)ny);
    if (mf_depthwise_f32_ref(x, w, b, yd, &d, NULL) != MF_OK) return 6;
    double e1 = 0.0, e2 = 0.0, e3 = 0.0;
    for (int32_t i = 0; i < ny; ++i) e3 = fmax(e3, fabs((double)yd[i] - (double)yr[i]));
    free(yd);
    for (int32_t i = 0; i < ny; ++i) e1 = fmax(e1, fabs((double)yf[i] - (double)yr[i]));
    const int32_t bytes = mf_conv2d_overwrite_scratch_bytes(&d, 4, MF_CONV_OVERWRITE_COLS);
    if (bytes > 0) {
        float *buf = malloc(sizeof(float) * (size_t)(nx > ny ? nx : ny));
        float *scratch = malloc((size_t)bytes);
        memcpy(buf, x, sizeof(float) * (size_t)nx);
        if (mf_conv2d_overwrite_f32_dsp(buf, w, b, buf, scratch, &d) != MF_OK) return 5;
        for (int32_t i = 0; i < ny; ++i) e2 = fmax(e2, fabs((double)buf[i] - (double)yr[i]));
        free(buf), free(scratch);
    } else {
        e2 = -1.0;
    }
    printf("%d %d %.3g %.3g %.3g\n", (int)d.h_out, (int)d.w_out, e1, e2, e3);
    free(x), free(w), free(b), free(yr), free(yf);
    return 0;
}
