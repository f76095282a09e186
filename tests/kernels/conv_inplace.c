/* Harness of the overwrite and residual conv kernels (tests/test_cnn_inplace.py) on the
 * kernel-harness protocol, every case in one sanitized host build.
 *
 * Input heads: 16 int32 words per case: a kernel index (KERNELS below), n c_in h_in w_in c_out
 * h_out w_out k_h k_w stride_h stride_w pad_top pad_left groups, an activation index (ACTS).
 * Input data: per case x, w, bias and, for residual kernels, skip, one after the other.
 * Outputs per case: scratch (the bytes the kernel's size function gives), status (0, or 1
 * when a kernel refused the shape), y (the output computed into a separate buffer, then the
 * output computed with y over x for overwrite kernels or over skip for residual kernels).
 * Every buffer, scratch too, is malloc'ed at exactly its size, so the sanitizer flags any
 * overrun. */
#include <stdlib.h>
#include <string.h>

#include "kh.h"
#include "mf_conv.h"

enum { OW_F32_REF, OW_F32_DSP, RES_F32_REF, RES_F32_DSP, OW_F16_REF };
static const mf_act_kind ACTS[] = {MF_ACT_NONE, MF_ACT_RELU, MF_ACT_SIGMOID};

static mf_f16 *to_f16(const float *v, int32_t n)
{
    mf_f16 *h = malloc((size_t)(n > 0 ? n : 1) * sizeof(mf_f16));
    for (int32_t i = 0; i < n; ++i) h[i] = (mf_f16)v[i];
    return h;
}

static float *copy_floats(const float *v, int32_t n)
{
    float *c = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    memcpy(c, v, (size_t)n * sizeof(float));
    return c;
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

#define HEAD 16
#define N_CASES (KH_IN_HEADS_N / HEAD)
_Static_assert(KH_IN_HEADS_N % HEAD == 0 && KH_OUT_SCRATCH_N == N_CASES && KH_OUT_STATUS_N == N_CASES,
               "harness.py sizes");

/* One case: reads its operands at *data (advanced past them), writes 2 ny values at *y. */
static int one_case(const int32_t *v, const float **data, float *y_out, float *scratch_out)
{
    const int kernel = v[0];
    mf_conv2d_desc d = {.n = v[1], .c_in = v[2], .h_in = v[3], .w_in = v[4], .c_out = v[5], .h_out = v[6],
                        .w_out = v[7], .k_h = v[8], .k_w = v[9], .stride_h = v[10], .stride_w = v[11],
                        .pad_top = v[12], .pad_left = v[13], .groups = v[14], .dil_h = 1, .dil_w = 1,
                        .act = {ACTS[v[15]], 0.0f, 0.0f}};
    const int residual = kernel == RES_F32_REF || kernel == RES_F32_DSP;
    const int32_t nx = d.n * d.c_in * d.h_in * d.w_in, ny = d.n * d.c_out * d.h_out * d.w_out;
    const int32_t nw = d.c_out * (d.c_in / d.groups) * d.k_h * d.k_w;
    float *x = copy_floats(*data, nx), *w = copy_floats(*data + nx, nw);
    float *b = copy_floats(*data + nx + nw, d.c_out);
    float *skip = copy_floats(*data + nx + nw + d.c_out, residual ? ny : 0);
    *data += nx + nw + d.c_out + (residual ? ny : 0);
    const int32_t elem = kernel == OW_F16_REF ? 2 : 4;
    const int32_t cols = kernel == RES_F32_DSP ? MF_CONV_COLS_DSP : MF_CONV_COLS_REF;
    const int32_t bytes = residual ? mf_conv2d_residual_scratch_bytes(&d, elem, cols)
                                   : mf_conv2d_overwrite_scratch_bytes(&d, elem, MF_CONV_OVERWRITE_COLS);
    *scratch_out = (float)bytes;
    void *scratch = malloc((size_t)(bytes > 0 ? bytes : 1));
    const int32_t nbuf = nx > ny ? nx : ny;
    int st = 0;
    if (kernel == OW_F16_REF) {
        mf_f16 *hx = to_f16(x, nx), *hw = to_f16(w, nw), *hb = to_f16(b, d.c_out);
        mf_f16 *hy = malloc((size_t)ny * sizeof(mf_f16)), *buf = malloc((size_t)nbuf * sizeof(mf_f16));
        st = mf_conv2d_overwrite_f16_ref(hx, hw, hb, hy, scratch, &d) != MF_OK;
        memcpy(buf, hx, (size_t)nx * sizeof(mf_f16));
        if (!st) st = mf_conv2d_overwrite_f16_ref(buf, hw, hb, buf, scratch, &d) != MF_OK;
        for (int32_t i = 0; !st && i < ny; ++i) y_out[i] = (float)hy[i], y_out[ny + i] = (float)buf[i];
        free(hx), free(hw), free(hb), free(hy), free(buf);
    } else {
        float *y = malloc((size_t)ny * sizeof(float)), *buf = malloc((size_t)nbuf * sizeof(float));
        st = run_f32(kernel, x, w, b, skip, y, scratch, &d) != MF_OK;
        memcpy(buf, residual ? skip : x, (size_t)(residual ? ny : nx) * sizeof(float));
        if (!st) st = run_f32(kernel, residual ? x : buf, w, b, buf, buf, scratch, &d) != MF_OK;
        if (!st) {
            memcpy(y_out, y, (size_t)ny * sizeof(float));
            memcpy(y_out + ny, buf, (size_t)ny * sizeof(float));
        }
        free(y), free(buf);
    }
    free(x), free(w), free(b), free(skip), free(scratch);
    return st;
}

int kh_run(void)
{
    int32_t heads[KH_IN_HEADS_N];
    memcpy(heads, kh_in_heads, sizeof heads);
    const float *data = kh_in_data;
    float *y = kh_out_y;
    for (int32_t c = 0; c < N_CASES; ++c) {
        const int32_t *v = heads + HEAD * c;
        kh_out_status[c] = (float)one_case(v, &data, y, &kh_out_scratch[c]);
        y += 2 * v[1] * v[5] * v[6] * v[7];
    }
    return data == kh_in_data + KH_IN_DATA_N && y == kh_out_y + KH_OUT_Y_N ? 0 : -1;
}
