/* Private to the runtime (kernel sources only, never the generated code): the machinery of
 * the register-blocked and SIMD kernels (isa dsp, rvv, mve) and the im2col convolution they
 * share. Every kernel computes what its _ref twin computes and is tested against it in the
 * same binary; only the speed differs.
 *
 * Convolution = im2col + GEMM panel. For each chunk of `cols` consecutive output pixels the
 * input patches are copied into the caller's scratch as a [K][cols] panel
 * (K = c_in/groups * k_h * k_w, zero where the window hangs over the padding), then one
 * panel micro-kernel multiplies the [c_out][K] weights by it. Depthwise convolutions and
 * 1x1/stride-1/unpadded convolutions (the input already is the panel) need no scratch.
 * `cols` is a per-ISA constant (MF_CONV_COLS_<ISA>, public in mf_conv.h with the scratch
 * size functions, whose Python twins are in toolchain/ops/conv.py). */
#ifndef MF_FAST_H
#define MF_FAST_H

#include "mf_act.h"
#include "mf_conv.h"
#include "mf_gemm.h"
#include "mf_types.h"

/* Fused multiply-add c + a*b. GCC in ISO C mode never contracts a*b+c, so it gets fmaf;
 * clang contracts within an expression by default, and its bare-metal targets keep
 * math-errno on, which turns __builtin_fmaf into a library call. */
#if defined(__clang__)
#define MF_FMA(a, b, c) ((a) * (b) + (c))
#else
#define MF_FMA(a, b, c) __builtin_fmaf((a), (b), (c))
#endif

/* On a function whose loops copy or clear a few values each: GCC would otherwise turn them
 * into memcpy/memset calls, which cost more than the copy at these lengths. */
#if defined(__GNUC__) && !defined(__clang__)
#define MF_NO_MEMCPY __attribute__((optimize("no-tree-loop-distribute-patterns")))
#else
#define MF_NO_MEMCPY
#endif

/* 1 when the convolution runs without im2col (depthwise, or 1x1 stride 1 unpadded). */
int mf_conv2d_is_depthwise(const mf_conv2d_desc *d);
int mf_conv2d_is_pointwise(const mf_conv2d_desc *d);

/* C[i][j] = bias[i] + sum_p A[i][p] * B[p][j], then max(., 0) when relu; A rows lda apart,
 * B rows ldb apart, C rows ldc apart, unit column stride everywhere; bias may be NULL.
 * Overwrites C. The bias seeds the accumulators and the ReLU is applied before the store,
 * so a convolution's epilogue costs nothing in the common cases. */
typedef void (*mf_panel_f32_fn)(const float *a, int32_t lda, const float *b, int32_t ldb,
                                float *c, int32_t ldc, int32_t m, int32_t n, int32_t k,
                                const float *bias, int relu);

#define MF_PANEL_ARGS(T)                                                                    \
    const T *a, int32_t lda, const T *b, int32_t ldb, T *c, int32_t ldc, int32_t m, int32_t n, \
        int32_t k, const T *bias, int relu
void mf_gemm_panel_f32_ref(MF_PANEL_ARGS(float));
void mf_gemm_panel_f32_dsp(MF_PANEL_ARGS(float));
/* Gemm with the descriptor of mf_gemm_f32_ref through a panel micro-kernel (row-major A and B;
 * transposed layouts fall back to the reference): the rvv and mve kernels. */
int mf_gemm_by_panel_f32(const float *a, const float *b, const float *c, float *y,
                         const mf_gemm_desc *d, mf_panel_f32_fn panel);

/* The im2col driver: groups, chunks, panel, then y = act(y + bias) per output row. */
int mf_conv2d_im2col_f32(const float *x, const float *w, const float *bias, float *y,
                         const mf_conv2d_desc *d, float *scratch, int32_t cols,
                         mf_panel_f32_fn panel);
/* The im2col panel of output pixels [p0, p0 + nc) of one group (xg: its first input
 * channel, cig channels): rows (ic, kh, kw), `cols` apart, zero over the padding. */
void mf_im2col_chunk_f32(const float *xg, const mf_conv2d_desc *d, int32_t cig, int32_t p0,
                         int32_t nc, int32_t cols, float *panel);
/* Bias and activation over n contiguous values (the GEMM/conv epilogue). */
void mf_bias_act_f32(float *y, int32_t n, float bias, const mf_act *act);

#if defined(__FLT16_MAX__)
#include "mf_f16.h"

typedef void (*mf_panel_f16_fn)(MF_PANEL_ARGS(mf_f16));
void mf_gemm_panel_f16_ref(MF_PANEL_ARGS(mf_f16));
int mf_conv2d_im2col_f16(const mf_f16 *x, const mf_f16 *w, const mf_f16 *bias, mf_f16 *y,
                         const mf_conv2d_desc *d, mf_f16 *scratch, int32_t cols,
                         mf_panel_f16_fn panel);
void mf_im2col_chunk_f16(const mf_f16 *xg, const mf_conv2d_desc *d, int32_t cig, int32_t p0,
                         int32_t nc, int32_t cols, mf_f16 *panel);
void mf_bias_act_f16(mf_f16 *y, int32_t n, float bias, const mf_act *act);
/* Gemm with the descriptor of mf_gemm_f16_ref through `panel` (the rvv and mve kernels). */
int mf_gemm_by_panel_f16(const mf_f16 *a, const mf_f16 *b, const mf_f16 *c, mf_f16 *y,
                         const mf_gemm_desc *d, mf_panel_f16_fn panel);

/* The GEMM panels of the RISC-V vector (RVV 1.0) and Arm Helium (MVE) kernels. */
void mf_gemm_panel_f16_rvv(MF_PANEL_ARGS(mf_f16));
void mf_gemm_panel_f16_mve(MF_PANEL_ARGS(mf_f16));
#endif

void mf_gemm_panel_f32_rvv(MF_PANEL_ARGS(float));
void mf_gemm_panel_f32_mve(MF_PANEL_ARGS(float));

#endif
