/* Host harness for the dsp convolution (tests/test_conv_direct.py): for the descriptor on the
 * command line (c_in c_out h w k s pad_top pad_left pad_bottom pad_right bias act), seeded data,
 * mf_conv2d_f32_dsp (the direct tile for few input channels, else im2col + GEMM) against
 * mf_conv2d_f32_ref. Prints h_out w_out and the max |dsp - ref|. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "mf_fast.h"

int mf_conv2d_f32_dsp(const float *x, const float *w, const float *bias, float *y,
                      const mf_conv2d_desc *d, float *scratch);

int main(int argc, char **argv)
{
    if (argc != 13) return 2;
    int v[12];
    for (int i = 0; i < 12; ++i) v[i] = atoi(argv[i + 1]);
    mf_conv2d_desc d = {0};
    d.n = 1, d.c_in = v[0], d.c_out = v[1], d.groups = 1, d.h_in = v[2], d.w_in = v[3];
    d.k_h = d.k_w = v[4], d.stride_h = d.stride_w = v[5], d.dil_h = d.dil_w = 1;
    d.pad_top = v[6], d.pad_left = v[7];
    d.h_out = (d.h_in + v[6] + v[8] - d.k_h) / d.stride_h + 1;
    d.w_out = (d.w_in + v[7] + v[9] - d.k_w) / d.stride_w + 1;
    d.act.kind = v[11] ? MF_ACT_RELU : MF_ACT_NONE;
    const int32_t nx = d.c_in * d.h_in * d.w_in, ny = d.c_out * d.h_out * d.w_out;
    const int32_t nw = d.c_out * d.c_in * d.k_h * d.k_w;
    float *x = malloc(sizeof(float) * (size_t)nx), *w = malloc(sizeof(float) * (size_t)nw);
    float *b = malloc(sizeof(float) * (size_t)d.c_out), *y0 = malloc(sizeof(float) * (size_t)ny);
    float *y1 = malloc(sizeof(float) * (size_t)ny);
    float *scratch = malloc((size_t)mf_conv2d_scratch_bytes(&d, 4, MF_CONV_COLS_DSP) + 4);
    uint32_t s = 1u;
    for (int32_t i = 0; i < nx; ++i) x[i] = (float)((s = s * 1664525u + 1013904223u) >> 8) / 16777216.0f - 0.5f;
    for (int32_t i = 0; i < nw; ++i) w[i] = (float)((s = s * 1664525u + 1013904223u) >> 8) / 16777216.0f - 0.5f;
    for (int32_t i = 0; i < d.c_out; ++i) b[i] = 0.01f * (float)i - 0.03f;
    const float *bias = v[10] ? b : NULL;
    if (mf_conv2d_f32_ref(x, w, bias, y0, &d) != MF_OK) return 3;
    if (mf_conv2d_f32_dsp(x, w, bias, y1, &d, scratch) != MF_OK) return 4;
    float e = 0.0f;
    for (int32_t i = 0; i < ny; ++i) e = fmaxf(e, fabsf(y0[i] - y1[i]));
    printf("%d %d %.3g\n", (int)d.h_out, (int)d.w_out, (double)e);
    free(x), free(w), free(b), free(y0), free(y1), free(scratch);
    return 0;
}
