/* Host harness for the overwrite and residual conv kernels (tests/test_cnn_inplace.py).
 *
 * stdin: a kernel index (KERNELS below), the descriptor, an activation index (ACTS), then x,
 * w, bias and, for residual kernels, skip, as text. stdout: the scratch bytes the kernel's
 * size function gives, the output computed into a separate buffer, then the output computed
 * with y over x (overwrite kernels) or over skip (residual kernels). Scratch is malloc'ed at
 * exactly that size, so the sanitizer flags any overrun. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mf_conv_inplace.h"

enum { OW_F32_REF, OW_F32_DSP, RES_F32_REF, RES_F32_DSP, OW_F16_REF };
static const mf_act_kind ACTS[] = {MF_ACT_NONE, MF_ACT_RELU, MF_ACT_SIGMOID};

static float *read_floats(int32_t n)
{
    float *v = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    for (int32_t i = 0; i < n; ++i)
        if (scanf("%f", &v[i]) != 1) exit(2);
    return v;
}

static void print_floats(const float *v, int32_t n)
{
    for (int32_t i = 0; i < n; ++i) printf("%.9g\n", v[i]);
}

static mf_f16 *to_f16(const float *v, int32_t n)
{
    mf_f16 *h = malloc((size_t)(n > 0 ? n : 1) * sizeof(mf_f16));
    for (int32_t i = 0; i < n; ++i) h[i] = (mf_f16)v[i];
    return h;
}

static void print_f16(const mf_f16 *v, int32_t n)
{
    for (int32_t i = 0; i < n; ++i) printf("%.9g\n", (double)v[i]);
}

/* y = kernel(x, skip); for overwrite kernels skip is unused. */
static int run_f32(int kernel, const float *x, const float *w, const float *b, const float *skip,
                   float *y, float *scratch, const mf_conv2d_desc *d)
{
    switch (kernel) {
    case OW_F32_REF: return mf_conv2d_overwrite_f32_ref(x, w, b, y, scratch, d);
    case OW_F32_DSP: return mf_conv2d_overwrite_f32_dsp(x, w, b, y, scratch, d);
    case RES_F32_REF: return mf_conv2d_residual_f32_ref(x, w, b, skip, y, scratch, d);
    case RES_F32_DSP: return mf_conv2d_residual_f32_dsp(x, w, b, skip, y, scratch, d);
    default: return MF_EARG;
    }
}

int main(void)
{
    int kernel, act;
    mf_conv2d_desc d = {0};
    if (scanf("%d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %f %f", &kernel, &d.n, &d.c_in,
              &d.h_in, &d.w_in, &d.c_out, &d.h_out, &d.w_out, &d.k_h, &d.k_w, &d.stride_h,
              &d.stride_w, &d.pad_top, &d.pad_left, &d.groups, &act, &d.act.alpha,
              &d.act.beta) != 18)
        return 2;
    d.dil_h = d.dil_w = 1;
    d.act.kind = ACTS[act];
    const int residual = kernel == RES_F32_REF || kernel == RES_F32_DSP;
    const int32_t nx = d.n * d.c_in * d.h_in * d.w_in, ny = d.n * d.c_out * d.h_out * d.w_out;
    const int32_t nw = d.c_out * (d.c_in / d.groups) * d.k_h * d.k_w;
    float *x = read_floats(nx), *w = read_floats(nw), *b = read_floats(d.c_out);
    float *skip = read_floats(residual ? ny : 0);
    const int32_t elem = kernel == OW_F16_REF ? 2 : 4;
    const int32_t cols = kernel == RES_F32_DSP ? MF_CONV_COLS_DSP : MF_CONV_COLS_REF;
    const int32_t bytes = residual ? mf_conv2d_residual_scratch_bytes(&d, elem, cols)
                                   : mf_conv2d_overwrite_scratch_bytes(&d, elem, MF_CONV_OVERWRITE_COLS);
    printf("%d\n", (int)bytes);
    void *scratch = malloc((size_t)(bytes > 0 ? bytes : 1));
    const int32_t nbuf = nx > ny ? nx : ny;
    if (kernel == OW_F16_REF) {
        mf_f16 *hx = to_f16(x, nx), *hw = to_f16(w, nw), *hb = to_f16(b, d.c_out);
        mf_f16 *hy = malloc((size_t)ny * sizeof(mf_f16)), *buf = malloc((size_t)nbuf * sizeof(mf_f16));
        if (mf_conv2d_overwrite_f16_ref(hx, hw, hb, hy, scratch, &d) != MF_OK) return 1;
        print_f16(hy, ny);
        memcpy(buf, hx, (size_t)nx * sizeof(mf_f16));
        if (mf_conv2d_overwrite_f16_ref(buf, hw, hb, buf, scratch, &d) != MF_OK) return 1;
        print_f16(buf, ny);
        return 0;
    }
    float *y = malloc((size_t)ny * sizeof(float)), *buf = malloc((size_t)nbuf * sizeof(float));
    if (run_f32(kernel, x, w, b, skip, y, scratch, &d) != MF_OK) return 1;
    print_floats(y, ny);
    memcpy(buf, residual ? skip : x, (size_t)(residual ? ny : nx) * sizeof(float));
    if (run_f32(kernel, residual ? x : buf, w, b, buf, buf, scratch, &d) != MF_OK) return 1;
    print_floats(buf, ny);
    return 0;
}
