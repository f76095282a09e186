/* Harness of the dsp convolution (tests/test_conv_direct.py) on the kernel-harness protocol:
 * input cases holds 12 int32 words per case (c_in c_out h w k s pad_top pad_left pad_bottom
 * pad_right bias act); for each, seeded data, mf_conv2d_f32_dsp (the direct tile for few input
 * channels, else im2col + GEMM) against mf_conv2d_f32_ref. Outputs hw (h_out, w_out per case)
 * and err (max |dsp - ref| per case). Every buffer is malloc'ed at its exact size, so the
 * sanitized host build (harness.sanitized) flags any overrun. Status 3/4: a kernel failed. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kh.h"
#include "mf_conv.h"

#define N_CASES (KH_IN_CASES_N / 12)
_Static_assert(KH_IN_CASES_N % 12 == 0 && KH_OUT_HW_N == 2 * N_CASES && KH_OUT_ERR_N == N_CASES,
               "harness.py sizes");

static int one_case(const int32_t *v, float *hw, float *err)
{
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
    hw[0] = (float)d.h_out, hw[1] = (float)d.w_out, *err = e;
    free(x), free(w), free(b), free(y0), free(y1), free(scratch);
    return 0;
}

int kh_run(void)
{
    int32_t v[KH_IN_CASES_N];
    memcpy(v, kh_in_cases, sizeof v);
    for (int32_t c = 0; c < N_CASES; ++c) {
        const int st = one_case(v + 12 * c, kh_out_hw + 2 * c, kh_out_err + c);
        if (st != 0) return st;
    }
    return 0;
}
