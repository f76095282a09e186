/* im2col convolution driver shared by the FP32 kernels of every ISA (see mf_fast.h): the
 * ISA only supplies the GEMM panel micro-kernel. With mf_gemm_panel_f32_ref it is a plain
 * scalar kernel, which the tests use to check the driver itself on the host. */
#include "mf_elementwise.h"
#include "mf_fast.h"

int mf_conv2d_is_depthwise(const mf_conv2d_desc *d)
{
    return d->groups == d->c_in && d->groups == d->c_out;
}

int mf_conv2d_is_pointwise(const mf_conv2d_desc *d)
{
    return d->k_h == 1 && d->k_w == 1 && d->stride_h == 1 && d->stride_w == 1 &&
           d->pad_top == 0 && d->pad_left == 0 && d->h_out == d->h_in && d->w_out == d->w_in;
}

int32_t mf_conv2d_scratch_bytes(const mf_conv2d_desc *d, int32_t elem_bytes, int32_t cols)
{
    if (d->groups < 1 || mf_conv2d_is_depthwise(d) || mf_conv2d_is_pointwise(d)) return 0;
    return d->c_in / d->groups * d->k_h * d->k_w * cols * elem_bytes;
}

void mf_gemm_panel_f32_ref(MF_PANEL_ARGS(float))
{
    for (int32_t i = 0; i < m; ++i)
        for (int32_t j = 0; j < n; ++j) {
            float acc = bias ? bias[i] : 0.0f;
            for (int32_t p = 0; p < k; ++p) acc += a[i * lda + p] * b[p * ldb + j];
            c[i * ldc + j] = relu && acc < 0.0f ? 0.0f : acc;
        }
}

void mf_bias_act_f32(float *y, int32_t n, float bias, const mf_act *act)
{
    if (act->kind == MF_ACT_NONE) {
        if (bias != 0.0f)
            for (int32_t i = 0; i < n; ++i) y[i] += bias;
    } else if (act->kind == MF_ACT_RELU) {
        for (int32_t i = 0; i < n; ++i) {
            const float v = y[i] + bias;
            y[i] = v > 0.0f ? v : 0.0f;
        }
    } else {
        for (int32_t i = 0; i < n; ++i) y[i] = mf_act_apply_f32(act, y[i] + bias);
    }
}

/* A run of 4 pixels whose whole window is inside the input, 3-wide taps, stride 1: the
 * common case, so it copies 6 input values into 12 panel entries per (ic, kh) with no
 * bounds checks (panel rows (ic, kh, kw) are consecutive). */
static void im2col_interior_3x4(const float *src, const mf_conv2d_desc *d, int32_t cig,
                                float *dst)
{
    const int32_t hw_in = d->h_in * d->w_in;
    for (int32_t ic = 0; ic < cig; ++ic, src += hw_in) {
        const float *r = src;
        for (int32_t kh = 0; kh < d->k_h; ++kh, r += d->dil_h * d->w_in, dst += 12) {
            const float v0 = r[0], v1 = r[1], v2 = r[2], v3 = r[3], v4 = r[4], v5 = r[5];
            dst[0] = v0; dst[1] = v1; dst[2] = v2; dst[3] = v3;
            dst[4] = v1; dst[5] = v2; dst[6] = v3; dst[7] = v4;
            dst[8] = v2; dst[9] = v3; dst[10] = v4; dst[11] = v5;
        }
    }
}

/* Panel rows for output pixels [p0, p0 + nc): row r = (ic, kh, kw), column j = pixel. The
 * chunk is cut into runs that stay on one output row, so the valid columns of each tap are
 * one interval and the copy loop carries no bounds checks. */
static void im2col_chunk(const float *xg, const mf_conv2d_desc *d, int32_t cig, int32_t p0,
                         int32_t nc, int32_t cols, float *panel)
{
    const int32_t kk = d->k_h * d->k_w, hw_in = d->h_in * d->w_in;
    int32_t j0 = 0;
    while (j0 < nc) {
        const int32_t oh = (p0 + j0) / d->w_out, ow0 = (p0 + j0) % d->w_out;
        int32_t run = d->w_out - ow0;
        if (run > nc - j0) run = nc - j0;
        const int32_t ih0 = oh * d->stride_h - d->pad_top;
        const int32_t iw0 = ow0 * d->stride_w - d->pad_left;
        if (run == 4 && cols == 4 && d->k_w == 3 && d->stride_w == 1 && d->dil_w == 1 &&
            ih0 >= 0 && ih0 + (d->k_h - 1) * d->dil_h < d->h_in && iw0 >= 0 && iw0 + 5 < d->w_in) {
            im2col_interior_3x4(xg + ih0 * d->w_in + iw0, d, cig, panel);
            j0 += run;
            continue;
        }
        for (int32_t kh = 0; kh < d->k_h; ++kh) {
            const int32_t ih = ih0 + kh * d->dil_h;
            const int row_ok = ih >= 0 && ih < d->h_in;
            for (int32_t kw = 0; kw < d->k_w; ++kw) {
                const int32_t iw = iw0 + kw * d->dil_w; /* column of pixel j0 */
                int32_t lo = 0, hi = 0;                 /* valid j - j0 in [lo, hi) */
                if (row_ok) {
                    lo = iw >= 0 ? 0 : (-iw + d->stride_w - 1) / d->stride_w;
                    hi = iw < d->w_in ? (d->w_in - 1 - iw) / d->stride_w + 1 : 0;
                    if (hi > run) hi = run;
                    if (lo > hi) lo = hi;
                }
                const float *src = xg + ih * d->w_in + iw;
                float *dst = panel + (kh * d->k_w + kw) * cols + j0;
                for (int32_t ic = 0; ic < cig; ++ic, src += hw_in, dst += kk * cols) {
                    int32_t j = 0;
                    for (; j < lo; ++j) dst[j] = 0.0f;
                    if (d->stride_w == 1)
                        for (; j < hi; ++j) dst[j] = src[j];
                    else
                        for (; j < hi; ++j) dst[j] = src[j * d->stride_w];
                    for (; j < run; ++j) dst[j] = 0.0f;
                }
            }
        }
        j0 += run;
    }
}

int mf_conv2d_im2col_f32(const float *x, const float *w, const float *bias, float *y,
                         const mf_conv2d_desc *d, float *scratch, int32_t cols,
                         mf_panel_f32_fn panel)
{
    if (!x || !w || !y || !d || !panel || d->groups < 1 || cols < 1) return MF_EARG;
    if (d->c_in % d->groups || d->c_out % d->groups) return MF_ESHAPE;
    const int pointwise = mf_conv2d_is_pointwise(d);
    if (!pointwise && !scratch) return MF_EARG;
    const int32_t cig = d->c_in / d->groups, cog = d->c_out / d->groups;
    const int32_t hw_in = d->h_in * d->w_in, hw_out = d->h_out * d->w_out;
    const int32_t k = cig * d->k_h * d->k_w;
    const int relu = d->act.kind == MF_ACT_RELU;
    const int fused = relu || d->act.kind == MF_ACT_NONE;
    for (int32_t n = 0; n < d->n; ++n) {
        for (int32_t g = 0; g < d->groups; ++g) {
            const float *xg = x + (n * d->c_in + g * cig) * hw_in;
            const float *wg = w + g * cog * k;
            float *yg = y + (n * d->c_out + g * cog) * hw_out;
            const float *bg = bias ? bias + g * cog : NULL;
            if (pointwise) {
                panel(wg, k, xg, hw_in, yg, hw_out, cog, hw_out, k, bg, relu);
            } else {
                for (int32_t p0 = 0; p0 < hw_out; p0 += cols) {
                    const int32_t nc = hw_out - p0 < cols ? hw_out - p0 : cols;
                    im2col_chunk(xg, d, cig, p0, nc, cols, scratch);
                    panel(wg, k, scratch, cols, yg + p0, hw_out, cog, nc, k, bg, relu);
                }
            }
            if (!fused) /* the panel did bias and ReLU; anything else runs here */
                for (int32_t oc = 0; oc < cog; ++oc) mf_bias_act_f32(yg + oc * hw_out, hw_out, 0.0f, &d->act);
        }
    }
    return MF_OK;
}
