/* FP32 convolution for cores without float SIMD (Cortex-M4/M7): im2col + the 4x4 register
 * tile of gemm_f32_dsp.c; depthwise is depthwise_f32_dsp.c (no scratch); convolutions with
 * few input channels (an image's first layer) run directly, below. */
#include "mf_depthwise.h"
#include "mf_elementwise.h"
#include "mf_fast.h"

#define INLINE static inline __attribute__((always_inline))

/* Direct convolution for few input channels (3x3 windows, stride 1 or 2, e.g. RGB first
 * layers). There im2col's chunks of four pixels carry only K = c_in * k_h * 3 taps, too few to
 * pay for the chunk's copy and the GEMM tile's set-up: MobileNet's 3->8 stride-2 layer ran at
 * 2.8 instructions per MAC. Here a 4x4 register tile (4 output channels x 4 output columns)
 * reads the input rows in place: per input channel and kernel row, 12 input and 12 weight
 * loads feed 48 FMAs. Kernel rows over the top/bottom padding are skipped per output row; the
 * output columns whose window hangs over the left/right padding (one or two per row) take a
 * clipped loop; the columns between go four at a time, the last group shifted left to end on
 * the last interior column (recomputing up to three outputs rather than a scalar tail). */
#define DIRECT_MAX_K 48

static int direct_ok(const mf_conv2d_desc *d)
{
    return d->groups == 1 && d->k_w == 3 && d->dil_h == 1 && d->dil_w == 1 &&
           (d->stride_w == 1 || d->stride_w == 2) && d->c_in * d->k_h * 3 <= DIRECT_MAX_K &&
           d->c_out % 4 == 0 && d->w_out >= 8 &&
           (d->act.kind == MF_ACT_NONE || d->act.kind == MF_ACT_RELU);
}

#define FMA4(r, a, b0, b1, b2, b3)                                                              \
    r##0 = MF_FMA(a, b0, r##0), r##1 = MF_FMA(a, b1, r##1), r##2 = MF_FMA(a, b2, r##2),         \
    r##3 = MF_FMA(a, b3, r##3)

/* One tap column kw of the tile: 4 inputs (stride s apart) times 4 weights (K apart). */
#define TAP(kw)                                                                                 \
    do {                                                                                        \
        const float b0 = r[kw], b1 = r[(kw) + s], b2 = r[(kw) + 2 * s], b3 = r[(kw) + 3 * s];   \
        const float x0 = a0[kw], x1 = a1[kw], x2 = a2[kw], x3 = a3[kw];                         \
        FMA4(c0, x0, b0, b1, b2, b3);                                                           \
        FMA4(c1, x1, b0, b1, b2, b3);                                                           \
        FMA4(c2, x2, b0, b1, b2, b3);                                                           \
        FMA4(c3, x3, b0, b1, b2, b3);                                                           \
    } while (0)

/* VMAXNM on the M7 (the compare form costs vcmp, vmrs, vsel there); on the M4, which has no
 * VMAXNM, a call to fmaxf, as in depthwise_f32_dsp.c */
INLINE float relu_if(float v, int relu) { return relu ? __builtin_fmaxf(v, 0.0f) : v; }

#define STORE4(p, r)                                                                            \
    (p)[0] = relu_if(r##0, relu), (p)[1] = relu_if(r##1, relu), (p)[2] = relu_if(r##2, relu),   \
    (p)[3] = relu_if(r##3, relu)

/* Output channels oc .. oc + 3, output columns ow .. ow + 3 of one output row: x0 is the input
 * at (channel 0, kernel row kh0, the first column's window start), w0 the weights of oc at
 * kernel row kh0, nkh the kernel rows inside the input. */
INLINE void direct_tile(const float *x0, int32_t hw_in, int32_t c_in, int32_t w_in, const float *w0,
                        int32_t kk, int32_t k_h, int32_t nkh, const float *bias, float *y,
                        int32_t hw_out, int s, int relu)
{
    float c00 = bias[0], c01 = c00, c02 = c00, c03 = c00, c10 = bias[1], c11 = c10, c12 = c10,
          c13 = c10, c20 = bias[2], c21 = c20, c22 = c20, c23 = c20, c30 = bias[3], c31 = c30,
          c32 = c30, c33 = c30;
    for (int32_t ic = 0; ic < c_in; ++ic) {
        const float *r = x0 + ic * hw_in;
        const float *a0 = w0 + ic * k_h * 3, *a1 = a0 + kk, *a2 = a1 + kk, *a3 = a2 + kk;
        for (int32_t kh = 0; kh < nkh; ++kh, r += w_in, a0 += 3, a1 += 3, a2 += 3, a3 += 3) {
            TAP(0);
            TAP(1);
            TAP(2);
        }
    }
    STORE4(y, c0);
    STORE4(y + hw_out, c1);
    STORE4(y + 2 * hw_out, c2);
    STORE4(y + 3 * hw_out, c3);
}

/* One output column (all output channels) with its window clipped to the input: the valid
 * kernel rows and columns are found once, so the loops carry no bounds tests. */
static void direct_column(const float *x, const float *w, const float *bias, float *y,
                          const mf_conv2d_desc *d, int32_t oh, int32_t ow, int relu)
{
    const int32_t kk = d->c_in * d->k_h * 3, hw_in = d->h_in * d->w_in, hw_out = d->h_out * d->w_out;
    const int32_t ih0 = oh * d->stride_h - d->pad_top, iw0 = ow * d->stride_w - d->pad_left;
    const int32_t kh0 = ih0 < 0 ? -ih0 : 0, kw0 = iw0 < 0 ? -iw0 : 0;
    int32_t kh1 = d->h_in - ih0, kw1 = d->w_in - iw0;
    if (kh1 > d->k_h) kh1 = d->k_h;
    if (kw1 > 3) kw1 = 3;
    for (int32_t oc = 0; oc < d->c_out; ++oc) {
        float acc = bias ? bias[oc] : 0.0f;
        const float *wo = w + oc * kk;
        for (int32_t ic = 0; ic < d->c_in; ++ic) {
            const int32_t base = ic * hw_in + ih0 * d->w_in + iw0; /* window origin, maybe outside */
            const float *wc = wo + ic * d->k_h * 3;
            for (int32_t kh = kh0; kh < kh1; ++kh)
                for (int32_t kw = kw0; kw < kw1; ++kw)
                    acc = MF_FMA(wc[kh * 3 + kw], x[base + kh * d->w_in + kw], acc);
        }
        y[oc * hw_out + oh * d->w_out + ow] = relu_if(acc, relu);
    }
}

INLINE void direct_plane(const float *x, const float *w, const float *bias, float *y,
                         const mf_conv2d_desc *d, int s, int relu)
{
    const int32_t kk = d->c_in * d->k_h * 3, hw_in = d->h_in * d->w_in, hw_out = d->h_out * d->w_out;
    /* interior columns: the whole window row inside the input */
    int32_t lo = d->pad_left > 0 ? (d->pad_left + s - 1) / s : 0;
    int32_t hi = d->w_in - 3 + d->pad_left >= 0 ? (d->w_in - 3 + d->pad_left) / s + 1 : 0;
    if (hi > d->w_out) hi = d->w_out;
    if (hi - lo < 4) lo = hi = 0; /* too narrow for a tile: every column clipped */
    for (int32_t oh = 0; oh < d->h_out; ++oh) {
        const int32_t ih0 = oh * d->stride_h - d->pad_top;
        const int32_t kh0 = ih0 < 0 ? -ih0 : 0;
        int32_t kh1 = d->h_in - ih0;
        if (kh1 > d->k_h) kh1 = d->k_h;
        for (int32_t ow = 0; ow < lo; ++ow) direct_column(x, w, bias, y, d, oh, ow, relu);
        for (int32_t ow = hi; ow < d->w_out; ++ow) direct_column(x, w, bias, y, d, oh, ow, relu);
        if (kh1 <= kh0) { /* the window lies in the padding: bias only */
            for (int32_t ow = lo; ow < hi; ++ow) direct_column(x, w, bias, y, d, oh, ow, relu);
            continue;
        }
        const int32_t xr = (ih0 + kh0) * d->w_in - d->pad_left; /* + o s: the tile's window */
        for (int32_t oc = 0; oc < d->c_out; oc += 4) {
            const float *w0 = w + oc * kk + kh0 * 3;
            float *yr = y + oc * hw_out + oh * d->w_out;
            for (int32_t ow = lo; ow < hi; ow += 4) {
                const int32_t o = ow + 4 <= hi ? ow : hi - 4;
                direct_tile(x + (xr + o * s), hw_in, d->c_in, d->w_in, w0, kk, d->k_h, kh1 - kh0, bias + oc,
                            yr + o, hw_out, s, relu);
            }
        }
    }
}

static int conv_direct(const float *x, const float *w, const float *bias, float *y,
                       const mf_conv2d_desc *d)
{
    float zeros[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    const int relu = d->act.kind == MF_ACT_RELU;
    const int32_t xs = d->c_in * d->h_in * d->w_in, ys = d->c_out * d->h_out * d->w_out;
    for (int32_t n = 0; n < d->n; ++n, x += xs, y += ys) {
        for (int32_t oc = 0; oc < d->c_out && !bias; oc += 4) { /* no bias: zero seeds */
            mf_conv2d_desc q = *d;
            q.n = 1, q.c_out = 4;
            const int32_t kk = d->c_in * d->k_h * 3, hw_out = d->h_out * d->w_out;
            if (d->stride_w == 1) direct_plane(x, w + oc * kk, zeros, y + oc * hw_out, &q, 1, relu);
            else direct_plane(x, w + oc * kk, zeros, y + oc * hw_out, &q, 2, relu);
        }
        if (!bias) continue;
        if (d->stride_w == 1) direct_plane(x, w, bias, y, d, 1, relu);
        else direct_plane(x, w, bias, y, d, 2, relu);
    }
    return MF_OK;
}

int mf_conv2d_f32_dsp(const float *x, const float *w, const float *bias, float *y,
                      const mf_conv2d_desc *d, float *scratch)
{
    if (!x || !w || !y || !d || d->groups < 1) return MF_EARG;
    if (mf_conv2d_is_depthwise(d)) return mf_depthwise_f32_dsp(x, w, bias, y, d, NULL);
    if (direct_ok(d)) return conv_direct(x, w, bias, y, d);
    return mf_conv2d_im2col_f32(x, w, bias, y, d, scratch, MF_CONV_COLS_DSP, mf_gemm_panel_f32_dsp);
}
