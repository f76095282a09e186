/* Integer-only (int8) kernels: int8 activations and weights, int32 accumulators, and
 * requantisation by a Q31 multiplier and a shift computed at compile time. No float is
 * touched on this path at run time.
 *
 * Conventions (the same for every ISA variant; each SIMD kernel is bit-exact with _ref):
 * - activations are NCHW int8 (uint8 tensors are shifted by -128 at compile time, zero
 *   point included, which is exact); weights are int8, symmetric (zero point 0), OIHW for
 *   convolutions and [n][k] (one row per output channel) for fully connected layers;
 * - bias is int32 at scale in_scale * w_scale[oc] and already holds -in_zp * sum(w[oc]),
 *   so kernels accumulate raw x * w; where a convolution's window hangs over the padding
 *   it reads in_zp (the real value 0), which then cancels exactly;
 * - y = clamp(out_zp + mf_requant(acc, mult[oc], shift[oc]), act_min, act_max).
 * Scratch comes from the caller; its size from the kernel's *_scratch_bytes function,
 * which has a Python twin tested to agree.
 * Alignment (added with the compiler half): every tensor a kernel receives starts on a
 * 16-byte boundary (the arena planner's ALIGN, checked by memory/checker.py; weights are
 * aligned(16)), except the destination slices of mf_requant_s8_ref (Concat). Rows inside a
 * tensor are not aligned (odd widths): SIMD kernels must not assume more. */
#ifndef MF_INT8_H
#define MF_INT8_H

#include "mf_types.h"

/* round(acc * mult * 2^(shift - 31)), ties towards +infinity, one rounding step.
 * mult is in [2^30, 2^31) (or 0), shift in [-32, 30]: the compiler guarantees both. */
static inline int32_t mf_requant(int32_t acc, int32_t mult, int32_t shift) {
    const int32_t rs = 31 - shift;
    const int64_t p = (int64_t)acc * (int64_t)mult;
    return (int32_t)((p + ((int64_t)1 << (rs - 1))) >> rs);
}

/* The same product rounded to nearest, ties to even (added with the compiler half): the
 * average pool uses it, where a power-of-two window makes exact ties common and the QDQ
 * meaning (a float average, then QuantizeLinear) rounds them to even. */
static inline int32_t mf_requant_even(int32_t acc, int32_t mult, int32_t shift) {
    const int32_t rs = 31 - shift;
    const int64_t p = (int64_t)acc * (int64_t)mult;
    const int64_t q = p >> rs; /* floor */
    const int64_t rem = p - q * ((int64_t)1 << rs), half = (int64_t)1 << (rs - 1);
    return (int32_t)(q + (rem > half || (rem == half && (q & 1))));
}

static inline int8_t mf_clamp_s8(int32_t v, int32_t lo, int32_t hi) {
    return (int8_t)(v < lo ? lo : (v > hi ? hi : v));
}

/* The output side of every requantising kernel. mult/shift hold c_out entries when
 * per_channel, else one. act_min/act_max fold ReLU/Clip (-128..127 when none). */
typedef struct {
    const int32_t *mult;
    const int32_t *shift;
    int32_t per_channel;
    int32_t out_zp;
    int32_t act_min, act_max;
} mf_requant_s8;

/* 2-D convolution; groups == c_in == c_out is depthwise (channel multiplier 1). pad_top
 * may be negative: output row r reads input rows from r * stride_h - pad_top on, so a band
 * of output rows is the same conv with h_out = the band's rows and pad_top lowered by its
 * first row times stride_h (h_in and the channel stride stay the whole map's). */
typedef struct {
    int32_t n, c_in, h_in, w_in;
    int32_t c_out, h_out, w_out;
    int32_t k_h, k_w;
    int32_t stride_h, stride_w;
    int32_t dil_h, dil_w;
    int32_t pad_top, pad_left;
    int32_t groups;
    int32_t in_zp; /* what the padding reads */
    mf_requant_s8 rq;
    /* Optional, for the DSP kernel only (NULL elsewhere and by default): the weights
     * widened at compile time into its SMLAD pairs, per output channel k rounded up to 4
     * with zeros, per four k the words (w0 | w2 << 16, w1 | w3 << 16) as int16 halves
     * (ops/qconv.py dsp_weights). Every other path reads w. */
    const int32_t *w_dsp;
} mf_conv2d_s8_desc;

/* Fully connected: y[m][n] = rq(bias[n] + sum_k a[m][k] * w[n][k]). */
typedef struct {
    int32_t m, n, k;
    mf_requant_s8 rq;
} mf_fc_s8_desc;

/* bias may be NULL (then 0). scratch: mf_conv2d_s8_<isa>_scratch_bytes(d) bytes. */
int32_t mf_conv2d_s8_ref_scratch_bytes(const mf_conv2d_s8_desc *d);
int32_t mf_fc_s8_ref_scratch_bytes(const mf_fc_s8_desc *d);

/* The same contract on Cortex-M DSP (SMLAD/SXTB16), Helium (VMLADAVA) and RVV (vwmacc).
 * Their depthwise path copies each channel into a padded scratch plane before it writes any
 * of that channel's outputs, channel after channel: there y may be x when h_out * w_out <=
 * h_in * w_in (DS-CNN's depthwise convs run over their input so). The reference may not. */
int32_t mf_conv2d_s8_dsp_scratch_bytes(const mf_conv2d_s8_desc *d);
int32_t mf_fc_s8_dsp_scratch_bytes(const mf_fc_s8_desc *d);
int32_t mf_conv2d_s8_mve_scratch_bytes(const mf_conv2d_s8_desc *d);
int32_t mf_fc_s8_mve_scratch_bytes(const mf_fc_s8_desc *d);
int32_t mf_conv2d_s8_rvv_scratch_bytes(const mf_conv2d_s8_desc *d);
int32_t mf_fc_s8_rvv_scratch_bytes(const mf_fc_s8_desc *d);

/* ---- Added with the compiler half (issue 14): the other int8 op families. Same
 * conventions; each has a reference kernel and, where a SIMD variant lands, the same contract. */

#include "mf_copy.h"

/* Strided copy on int8 (Transpose, Slice, Concat of equal quantisations...): mf_copy_s8_ref
 * in mf_copy.h. */

/* y = clamp(out_zp + requant(a_term + b_term)), TFLM's integer add: each input is lifted by
 * 2^left_shift, rescaled to a common scale (a_mult/a_shift, b_mult/b_shift), summed, then
 * requantised to the output (rq, one entry). a and b have n elements each. */
typedef struct {
    int32_t n;
    int32_t a_zp, b_zp;
    int32_t left_shift;
    int32_t a_mult, a_shift, b_mult, b_shift;
    mf_requant_s8 rq;
} mf_add_s8_desc;

/* The same add over `rows` rows of add.n elements, each operand with its own row stride:
 * a residual conv's output band (rows = channels, contiguous in scratch) added to the
 * strided band of the skip map it overwrites (toolchain/ops/qconv.py QConvAdd). y may be a
 * or b with the same strides. a_term/b_term (or NULL): each input's rescaled term
 * mf_requant((v - zp) << left_shift, mult, shift) for v = -128..127 at [v + 128], made at
 * compile time, so that only the output's requantisation is left per element. */
typedef struct {
    mf_add_s8_desc add;
    int32_t rows, a_stride, b_stride, y_stride;
    const int32_t *a_term, *b_term;
} mf_add_rows_s8_desc;

/* A pointwise convolution (1x1, stride 1, no padding, groups 1, c_out <= c_in or n == 1)
 * whose output y may be its input x (the planner's "overwrite": DS-CNN's blocks run in one
 * map instead of two): MF_CONV_OVERWRITE_S8_COLS pixels at a time, all c_out outputs of
 * those pixels to scratch, then over them. Other shapes: MF_ESHAPE (a depthwise conv over its
 * input runs as channel blocks through mf_conv2d_s8_<isa>, see toolchain/ops/qconv.py). */
#define MF_CONV_OVERWRITE_S8_COLS 8
int32_t mf_conv2d_overwrite_s8_pointwise(const mf_conv2d_s8_desc *d); /* 1: this kernel applies */
int32_t mf_conv2d_overwrite_s8_ref_scratch_bytes(const mf_conv2d_s8_desc *d);
/* The same contract on Cortex-M DSP, Helium and RVV (conv_overwrite_s8_<isa>.c: the ISA's
 * GEMM over panels of pixels). */
int32_t mf_conv2d_overwrite_s8_dsp_scratch_bytes(const mf_conv2d_s8_desc *d);
int32_t mf_conv2d_overwrite_s8_mve_scratch_bytes(const mf_conv2d_s8_desc *d);
int32_t mf_conv2d_overwrite_s8_rvv_scratch_bytes(const mf_conv2d_s8_desc *d);

/* Requantise rows: for o < outer, j < inner: y[o*out_stride + j] = clamp(out_zp +
 * requant(x[o*inner + j] - in_zp)). Concat of differing scales, and DQ -> Q pairs. */
typedef struct {
    int32_t outer, inner, out_stride;
    int32_t in_zp;
    mf_requant_s8 rq;
} mf_requant_s8_desc;

/* Average pooling over int8: acc = sum(x - in_zp) over the window (padding reads in_zp, so
 * it counts as a zero: count_include_pad), y = clamp(out_zp + requant(acc)) where the
 * multiplier holds in_scale / (out_scale * k_h * k_w). Max pooling: the max of the window
 * (padding never wins), then the requantisation when the output scale differs. */
typedef struct {
    int32_t n, c, h_in, w_in, h_out, w_out;
    int32_t k_h, k_w, stride_h, stride_w, pad_top, pad_left;
    int32_t in_zp;
    mf_requant_s8 rq;
} mf_pool_s8_desc;

/* Softmax over the last axis, integers only: lut[d] = round(2^23 * exp(-beta * in_scale * d))
 * for d = max - x in 0..255 (computed at compile time), then for each element
 * y = clamp(out_zp + round(lut[d] * out_mult / (sum * 2^(31 - out_shift)))), where
 * out_mult * 2^(out_shift - 31) = 1 / out_scale. One rounding, exact rational arithmetic. */
typedef struct {
    int32_t rows, cols;
    const int32_t *lut; /* 256 entries */
    int32_t out_mult, out_shift, out_zp;
} mf_softmax_s8_desc;

/* Model boundary only (the one place float is touched): y = clamp(nearbyint(x / scale) + zp)
 * (ties to even, as onnxruntime's QuantizeLinear) and y = (x - zp) * scale. */
typedef struct {
    int32_t n;
    float scale;
    int32_t zp;
} mf_quant_s8_desc;

/* uint8 model inputs/outputs (mf_from_u8_s8_ref, mf_to_u8_s8_ref): the int8 tensor is the
 * uint8 one shifted by -128 (x ^ 0x80). */

/* PROTOS_BEGIN: generated from toolchain/ops/kernel_table.py by `make protos`; do not edit */
int mf_add_rows_s8_dsp(const int8_t *a, const int8_t *b, int8_t *y, const mf_add_rows_s8_desc *d);
int mf_add_rows_s8_mve(const int8_t *a, const int8_t *b, int8_t *y, const mf_add_rows_s8_desc *d);
int mf_add_rows_s8_ref(const int8_t *a, const int8_t *b, int8_t *y, const mf_add_rows_s8_desc *d);
int mf_add_rows_s8_rvv(const int8_t *a, const int8_t *b, int8_t *y, const mf_add_rows_s8_desc *d);
int mf_add_s8_dsp(const int8_t *a, const int8_t *b, int8_t *y, const mf_add_s8_desc *d);
int mf_add_s8_mve(const int8_t *a, const int8_t *b, int8_t *y, const mf_add_s8_desc *d);
int mf_add_s8_ref(const int8_t *a, const int8_t *b, int8_t *y, const mf_add_s8_desc *d);
int mf_add_s8_rvv(const int8_t *a, const int8_t *b, int8_t *y, const mf_add_s8_desc *d);
int mf_avgpool_s8_dsp(const int8_t *x, int8_t *y, const mf_pool_s8_desc *d);
int mf_avgpool_s8_mve(const int8_t *x, int8_t *y, const mf_pool_s8_desc *d);
int mf_avgpool_s8_ref(const int8_t *x, int8_t *y, const mf_pool_s8_desc *d);
int mf_avgpool_s8_rvv(const int8_t *x, int8_t *y, const mf_pool_s8_desc *d);
int mf_conv2d_overwrite_s8_dsp(const int8_t *x, const int8_t *w, const int32_t *bias, int8_t *y,
                               const mf_conv2d_s8_desc *d, void *scratch);
int mf_conv2d_overwrite_s8_mve(const int8_t *x, const int8_t *w, const int32_t *bias, int8_t *y,
                               const mf_conv2d_s8_desc *d, void *scratch);
int mf_conv2d_overwrite_s8_ref(const int8_t *x, const int8_t *w, const int32_t *bias, int8_t *y,
                               const mf_conv2d_s8_desc *d, void *scratch);
int mf_conv2d_overwrite_s8_rvv(const int8_t *x, const int8_t *w, const int32_t *bias, int8_t *y,
                               const mf_conv2d_s8_desc *d, void *scratch);
int mf_conv2d_s8_dsp(const int8_t *x, const int8_t *w, const int32_t *bias, int8_t *y,
                     const mf_conv2d_s8_desc *d, void *scratch);
int mf_conv2d_s8_mve(const int8_t *x, const int8_t *w, const int32_t *bias, int8_t *y,
                     const mf_conv2d_s8_desc *d, void *scratch);
int mf_conv2d_s8_ref(const int8_t *x, const int8_t *w, const int32_t *bias, int8_t *y,
                     const mf_conv2d_s8_desc *d, void *scratch);
int mf_conv2d_s8_rvv(const int8_t *x, const int8_t *w, const int32_t *bias, int8_t *y,
                     const mf_conv2d_s8_desc *d, void *scratch);
int mf_dequantize_s8_ref(const int8_t *x, float *y, const mf_quant_s8_desc *d);
int mf_fc_s8_dsp(const int8_t *a, const int8_t *w, const int32_t *bias, int8_t *y,
                 const mf_fc_s8_desc *d, void *scratch);
int mf_fc_s8_mve(const int8_t *a, const int8_t *w, const int32_t *bias, int8_t *y,
                 const mf_fc_s8_desc *d, void *scratch);
int mf_fc_s8_ref(const int8_t *a, const int8_t *w, const int32_t *bias, int8_t *y,
                 const mf_fc_s8_desc *d, void *scratch);
int mf_fc_s8_rvv(const int8_t *a, const int8_t *w, const int32_t *bias, int8_t *y,
                 const mf_fc_s8_desc *d, void *scratch);
int mf_from_u8_s8_ref(const uint8_t *x, int8_t *y, int32_t n);
int mf_maxpool_s8_ref(const int8_t *x, int8_t *y, const mf_pool_s8_desc *d);
int mf_quantize_s8_ref(const float *x, int8_t *y, const mf_quant_s8_desc *d);
int mf_requant_s8_ref(const int8_t *x, int8_t *y, const mf_requant_s8_desc *d);
int mf_softmax_s8_dsp(const int8_t *x, int8_t *y, const mf_softmax_s8_desc *d);
int mf_softmax_s8_mve(const int8_t *x, int8_t *y, const mf_softmax_s8_desc *d);
int mf_softmax_s8_ref(const int8_t *x, int8_t *y, const mf_softmax_s8_desc *d);
int mf_softmax_s8_rvv(const int8_t *x, int8_t *y, const mf_softmax_s8_desc *d);
int mf_to_u8_s8_ref(const int8_t *x, uint8_t *y, int32_t n);
/* PROTOS_END */

#endif
