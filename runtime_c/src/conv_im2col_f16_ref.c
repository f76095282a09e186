/* im2col convolution driver for FP16 (see conv_im2col_f32_ref.c, its FP32 twin): the ISA
 * supplies the GEMM panel; with mf_gemm_panel_f16_ref (FP32 accumulation) it is a scalar
 * kernel the tests use to check the driver on the host. */
#include "mf_elementwise.h"
#include "mf_f16.h"
#include "mf_fast.h"

void mf_gemm_panel_f16_ref(MF_PANEL_ARGS(mf_f16))
{
    for (int32_t i = 0; i < m; ++i)
        for (int32_t j = 0; j < n; ++j) {
            float acc = bias ? (float)bias[i] : 0.0f;
            for (int32_t p = 0; p < k; ++p) acc += (float)a[i * lda + p] * (float)b[p * ldb + j];
            c[i * ldc + j] = (mf_f16)(relu && acc < 0.0f ? 0.0f : acc);
        }
}

void mf_bias_act_f16(mf_f16 *y, int32_t n, float bias, const mf_act *act)
{
    if (act->kind == MF_ACT_NONE) {
        if (bias != 0.0f)
            for (int32_t i = 0; i < n; ++i) y[i] += bias;
    } else if (act->kind == MF_ACT_RELU) {
        for (int32_t i = 0; i < n; ++i) {
            const float v = (float)y[i] + bias;
            y[i] = (mf_f16)(v > 0.0f ? v : 0.0f);
        }
    } else {
        for (int32_t i = 0; i < n; ++i) y[i] = (mf_f16)mf_act_apply_f32(act, (float)y[i] + bias);
    }
}

/* dst[j] = src[j * stride], j < n: the bulk of im2col, so vector loads/stores where the ISA
 * has them (tails by vsetvl / vctp), plain C elsewhere. */
#if defined(__riscv_vector)
#include <riscv_vector.h>
static inline void copy_run(mf_f16 *dst, const mf_f16 *src, int32_t n, int32_t stride)
{
    while (n > 0) {
        const size_t vl = __riscv_vsetvl_e16m2((size_t)n);
        const vfloat16m2_t v = stride == 1 ? __riscv_vle16_v_f16m2((const _Float16 *)src, vl)
                                           : __riscv_vlse16_v_f16m2((const _Float16 *)src, stride * 2, vl);
        __riscv_vse16_v_f16m2((_Float16 *)dst, v, vl);
        src += (int32_t)vl * stride;
        dst += vl;
        n -= (int32_t)vl;
    }
}
#elif defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 2)
#include <arm_mve.h>
static inline void copy_run(mf_f16 *dst, const mf_f16 *src, int32_t n, int32_t stride)
{
    if (stride != 1) {
        for (int32_t j = 0; j < n; ++j) dst[j] = src[j * stride];
        return;
    }
    for (; n > 0; n -= 8, src += 8, dst += 8) {
        const mve_pred16_t p = vctp16q((uint32_t)n);
        vstrhq_p_f16((float16_t *)dst, vldrhq_z_f16((const float16_t *)src, p), p);
    }
}
#else
static inline void copy_run(mf_f16 *dst, const mf_f16 *src, int32_t n, int32_t stride)
{
    for (int32_t j = 0; j < n; ++j) dst[j] = src[j * stride];
}
#endif

/* A run of 4 pixels whose whole window is inside the input, 3-wide taps, stride 1: the
 * common case, so it copies 6 input values into 12 panel entries per (ic, kh) with no
 * bounds checks (panel rows (ic, kh, kw) are consecutive). */
static void im2col_interior_3x4(const mf_f16 *src, const mf_conv2d_desc *d, int32_t cig,
                                mf_f16 *dst)
{
    const int32_t hw_in = d->h_in * d->w_in;
    for (int32_t ic = 0; ic < cig; ++ic, src += hw_in) {
        const mf_f16 *r = src;
        for (int32_t kh = 0; kh < d->k_h; ++kh, r += d->dil_h * d->w_in, dst += 12) {
            const mf_f16 v0 = r[0], v1 = r[1], v2 = r[2], v3 = r[3], v4 = r[4], v5 = r[5];
            dst[0] = v0; dst[1] = v1; dst[2] = v2; dst[3] = v3;
            dst[4] = v1; dst[5] = v2; dst[6] = v3; dst[7] = v4;
            dst[8] = v2; dst[9] = v3; dst[10] = v4; dst[11] = v5;
        }
    }
}

/* Panel rows for output pixels [p0, p0 + nc): row r = (ic, kh, kw), column j = pixel. The
 * chunk is cut into runs that stay on one output row, so the valid columns of each tap are
 * one interval and the copy loop carries no bounds checks. */
static void im2col_chunk(const mf_f16 *xg, const mf_conv2d_desc *d, int32_t cig, int32_t p0,
                         int32_t nc, int32_t cols, mf_f16 *panel)
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
                const mf_f16 *src = xg + ih * d->w_in + iw;
                mf_f16 *dst = panel + (kh * d->k_w + kw) * cols + j0;
                for (int32_t ic = 0; ic < cig; ++ic, src += hw_in, dst += kk * cols) {
                    for (int32_t j = 0; j < lo; ++j) dst[j] = (mf_f16)0.0f;
                    copy_run(dst + lo, src + lo * d->stride_w, hi - lo, d->stride_w);
                    for (int32_t j = hi; j < run; ++j) dst[j] = (mf_f16)0.0f;
                }
            }
        }
        j0 += run;
    }
}

int mf_conv2d_im2col_f16(const mf_f16 *x, const mf_f16 *w, const mf_f16 *bias, mf_f16 *y,
                         const mf_conv2d_desc *d, mf_f16 *scratch, int32_t cols,
                         mf_panel_f16_fn panel)
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
            const mf_f16 *xg = x + (n * d->c_in + g * cig) * hw_in;
            const mf_f16 *wg = w + g * cog * k;
            mf_f16 *yg = y + (n * d->c_out + g * cog) * hw_out;
            const mf_f16 *bg = bias ? bias + g * cog : NULL;
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
                for (int32_t oc = 0; oc < cog; ++oc) mf_bias_act_f16(yg + oc * hw_out, hw_out, 0.0f, &d->act);
        }
    }
    return MF_OK;
}
