/* Training kernels: per op family a `_bwd_input` (gradient of the data input) and a
 * `_bwd_weight` (gradient of weights and bias) entry point, plus losses and optimizer updates.
 * The forward pass uses the inference kernels unchanged.
 *
 * Contract as for the forward kernels: status return, arguments checked first, no malloc, no
 * globals. Variants are mf_<op>_bwd_<entry>_<dtype>_<isa> with these same descriptors;
 * toolchain/train/kernels.py picks the name (best ISA the runtime defines, else ref).
 * One source serves both element types, as for the forward kernels (mf_f16.h): the
 * <family>_bwd_<dtype>_ref.c files include <family>_bwd_ref.inc, the SIMD ones
 * gemm_bwd_<isa>.inc and conv_bwd_simd.inc, whose ISA-named functions are MF_SIMD(op)
 * (op##_<dtype>_<isa>). gemm_bwd_ref.inc also holds the tiled drivers of the SIMD kernels.
 *
 * Accumulator precision:
 *   f32_ref, f32 SIMD  FP32 everywhere.
 *   f16_ref            FP16 storage, FP32 arithmetic: one float accumulator per output,
 *                      rounded once on store (the oracle of the FP16 SIMD kernels).
 *   f16 SIMD           FP16 accumulators inside the micro-kernel (RVV e16 vfmacc, Helium
 *                      vfma.f16), as the forward kernels: the widening RVV vfwmacc halves
 *                      the MACs per instruction and Helium has none. bwd_weight reduces over
 *                      pixels in chunks of MF_BWD_COLS_<ISA>: FP16 partial sums over a chunk,
 *                      added into the FP16 gradient chunk by chunk. Layer norm, softmax,
 *                      losses and updates are FP32 arithmetic in every variant.
 * Mixed-precision training (FP16 activations/gradients) keeps FP32 master weights and
 * optimizer state; see mf_loss_scale. */
#ifndef MF_TRAIN_H
#define MF_TRAIN_H

#include "mf_types.h"
#include "mf_conv.h"
#include "mf_gemm.h"
#include "mf_norm.h"
#include "mf_pool.h"

/* mf_act_bwd_input: dx = dy * act'(.) for n elements. v is the activation's input, or its output when
 * from_output (RELU, CLIP, SIGMOID, TANH, EXP only). dx may equal dy. */

/* mf_conv2d_bwd_input/_bwd_weight: the forward's descriptor (its act is ignored: see
 * mf_act_bwd_input). dw and db may each be NULL (not trained). */

/* mf_gemm_bwd_input: for each batch index b over batch_shape:
 *   o[b][i*o_rs + k*o_cs] = alpha * sum_j dy[b][i*dy_rs + j*dy_cs] * w[b][k*w_rs + j*w_cs]
 * The gradient of either matmul operand is this product (for B, of the transposed problem). */
typedef struct {
    int32_t batch_rank;
    int32_t batch_shape[MF_MAX_BATCH_RANK];
    int32_t dy_bstride[MF_MAX_BATCH_RANK];
    int32_t w_bstride[MF_MAX_BATCH_RANK];
    int32_t o_bstride[MF_MAX_BATCH_RANK];
    int32_t m, n, k;
    int32_t dy_rs, dy_cs, w_rs, w_cs, o_rs, o_cs;
    float alpha;
} mf_gemm_bwd_input_desc;


/* mf_gemm_bwd_weight: rows r = 0..rows-1 of A (A[r][k] = a[r*a_rs + k*a_cs]) and of dy (contiguous, n columns):
 *   dw[k*w_ks + j*w_ns] = alpha * sum_r A[r][k] * dy[r][j]
 *   dc[(r % m)*c_rs + j*c_cs] += beta * dy[r][j]   (dc zeroed first over c_size elements)
 * A batched matmul against a 2-D weight flattens its batch into rows. dw or dc may be NULL. */
typedef struct {
    int32_t rows, m, n, k;
    int32_t a_rs, a_cs;
    int32_t w_ks, w_ns;
    int32_t c_size, c_rs, c_cs;
    float alpha, beta;
} mf_gemm_bwd_weight_desc;


/* mf_maxpool2d/avgpool2d_bwd_input: the gradient goes to the window's maximum (the first one in scan order, as the
 * forward picks it) or is spread evenly over the counted window. */

/* mf_layernorm_bwd_input/_bwd_weight: mean and 1/std are recomputed from x (costs compute, saves 2 floats per row
 * of RAM between forward and backward). gamma may be NULL (= 1). */

/* mf_softmax_bwd_input: Softmax (log = 0) or LogSoftmax (log = 1) from its output y. dx may equal dy. */

/* mf_softmax_xent, mf_mse_loss: over `rows` rows of `cols`, mean-reduced as PyTorch's
 * defaults. */
typedef struct {
    int32_t rows, cols;
} mf_loss_desc;

/* mf_softmax_xent: labels hold class indices as floats (exact below 2^24), one per row. */

/* mf_sgd_update, mf_adam_update: PyTorch semantics. buf may be NULL when momentum is 0. */
typedef struct {
    float lr, momentum, weight_decay;
} mf_sgd_desc;


typedef struct {
    float lr, beta1, beta2, eps, weight_decay;
} mf_adam_desc;

/* mf_adam_update: step counts from 1 (bias correction). */

/* ---------------------------------------------------------------- mixed precision (FP16) */

/* Dynamic loss scaling: the loss kernel multiplies the FP16 gradient of the logits by
 * `scale`; each update divides it out in FP32, and when its gradient holds a non-finite value
 * it leaves that weight alone and sets `overflow`. mf_loss_scale_update, called at the start of
 * every step, then halves the scale (not below min_scale), or doubles it after
 * growth_interval clean steps. */
typedef struct {
    float scale, min_scale;
    int32_t growth_interval, good_steps, overflow;
} mf_loss_scale;


/* SIMD backward: pixels per im2col chunk (the scratch of the conv kernels is
 * mf_conv2d_bwd_scratch_bytes(d, element bytes, MF_BWD_COLS_<ISA>)). */
#define MF_BWD_COLS_REF 8
#define MF_BWD_COLS_RVV 16 /* e16 at LMUL 2 / e32 at LMUL 4, VLEN 128: one vector per row */
#define MF_BWD_COLS_MVE 8  /* one Q register of f16 */

/* Bytes of scratch of the im2col backward convolution; 0 for depthwise (groups > 1 and
 * groups == c_in == c_out: direct loops). */
int32_t mf_conv2d_bwd_scratch_bytes(const mf_conv2d_desc *d, int32_t elem_bytes, int32_t cols);

/* The activation derivatives every dtype's mf_act_bwd_input uses (mf_act_deriv_f32,
 * mf_act_deriv_out_f32) are declared in mf_elementwise.h, beside the forward. */

/* Micro-kernel of the SIMD backward (PULP-TrainLib's "everything is a matmul"):
 *   C[i][j] = alpha * sum_p A[i*a_rs + p*a_cs] * B[p*b_rs + j*b_cs]  (+ C[i][j] if accumulate)
 * i < m, j < n, p < k; C rows c_rs apart with unit column stride. A is read one scalar at a
 * time (outer product, any strides); B by rows, strided rows where b_cs != 1. */
#define MF_BWD_TILE_ARGS(T)                                                                    \
    const T *a, int32_t a_rs, int32_t a_cs, const T *b, int32_t b_rs, int32_t b_cs, T *c,    \
        int32_t c_rs, int32_t m, int32_t n, int32_t k, float alpha, int accumulate
typedef void (*mf_bwd_tile_f32_fn)(MF_BWD_TILE_ARGS(float));
void mf_bwd_tile_f32_ref(MF_BWD_TILE_ARGS(float));

/* The im2col drivers every ISA shares: they cut the convolution into tile calls. */
int mf_conv2d_bwd_input_im2col_f32(const float *dy, const float *w, float *dx,
                                   const mf_conv2d_desc *d, float *scratch, int32_t cols,
                                   mf_bwd_tile_f32_fn tile);
int mf_conv2d_bwd_weight_im2col_f32(const float *x, const float *dy, float *dw, float *db,
                                    const mf_conv2d_desc *d, float *scratch, int32_t cols,
                                    mf_bwd_tile_f32_fn tile);
/* The matmul gradients as tile calls, in the orientation whose output has unit column stride;
 * return MF_EARG when neither has (the caller then uses the reference). Bias gradients (dc)
 * use FP32 accumulators in every variant. */
int mf_gemm_bwd_input_tiled_f32(const float *dy, const float *w, float *dx,
                                const mf_gemm_bwd_input_desc *d, mf_bwd_tile_f32_fn tile);
int mf_gemm_bwd_weight_tiled_f32(const float *a, const float *dy, float *dw, float *dc,
                                 const mf_gemm_bwd_weight_desc *d, mf_bwd_tile_f32_fn tile);

/* FP32 SIMD variants (scratch as above with elem_bytes 4). */
void mf_bwd_tile_f32_rvv(MF_BWD_TILE_ARGS(float));
void mf_bwd_tile_f32_mve(MF_BWD_TILE_ARGS(float));

#if defined(__FLT16_MAX__)
#include "mf_f16.h"

/* FP16 variants: FP16 tensors, FP32 descriptors and scalars. Losses read FP16 predictions and
 * FP32 labels, write the FP32 loss and the FP16 gradient times ls->scale. Updates take the
 * FP32 master w (and FP32 state) and the FP16 gradient, and write the FP16 copy w_half. */

typedef void (*mf_bwd_tile_f16_fn)(MF_BWD_TILE_ARGS(mf_f16));
void mf_bwd_tile_f16_ref(MF_BWD_TILE_ARGS(mf_f16));
int mf_conv2d_bwd_input_im2col_f16(const mf_f16 *dy, const mf_f16 *w, mf_f16 *dx,
                                   const mf_conv2d_desc *d, mf_f16 *scratch, int32_t cols,
                                   mf_bwd_tile_f16_fn tile);
int mf_conv2d_bwd_weight_im2col_f16(const mf_f16 *x, const mf_f16 *dy, mf_f16 *dw, mf_f16 *db,
                                    const mf_conv2d_desc *d, mf_f16 *scratch, int32_t cols,
                                    mf_bwd_tile_f16_fn tile);
int mf_gemm_bwd_input_tiled_f16(const mf_f16 *dy, const mf_f16 *w, mf_f16 *dx,
                                const mf_gemm_bwd_input_desc *d, mf_bwd_tile_f16_fn tile);
int mf_gemm_bwd_weight_tiled_f16(const mf_f16 *a, const mf_f16 *dy, mf_f16 *dw, mf_f16 *dc,
                                 const mf_gemm_bwd_weight_desc *d, mf_bwd_tile_f16_fn tile);

void mf_bwd_tile_f16_rvv(MF_BWD_TILE_ARGS(mf_f16));
void mf_bwd_tile_f16_mve(MF_BWD_TILE_ARGS(mf_f16));
#endif

/* PROTOS_BEGIN: generated from toolchain/ops/kernel_table.py by `make protos`; do not edit */
int mf_act_bwd_input_f32_ref(const float *dy, const float *v, float *dx, int32_t n,
                             const mf_act *act, int32_t from_output);
int mf_adam_update_f32_ref(float *w, const float *g, float *m, float *v, int32_t n,
                           const mf_adam_desc *d, int32_t step);
int mf_avgpool2d_bwd_input_f32_ref(const float *dy, float *dx, const mf_pool2d_desc *d);
int mf_conv2d_bwd_input_f32_mve(const float *dy, const float *w, float *dx, const mf_conv2d_desc *d,
                                float *scratch);
int mf_conv2d_bwd_input_f32_ref(const float *dy, const float *w, float *dx,
                                const mf_conv2d_desc *d);
int mf_conv2d_bwd_input_f32_rvv(const float *dy, const float *w, float *dx, const mf_conv2d_desc *d,
                                float *scratch);
int mf_conv2d_bwd_weight_f32_mve(const float *x, const float *dy, float *dw, float *db,
                                 const mf_conv2d_desc *d, float *scratch);
int mf_conv2d_bwd_weight_f32_ref(const float *x, const float *dy, float *dw, float *db,
                                 const mf_conv2d_desc *d);
int mf_conv2d_bwd_weight_f32_rvv(const float *x, const float *dy, float *dw, float *db,
                                 const mf_conv2d_desc *d, float *scratch);
int mf_gemm_bwd_input_f32_mve(const float *dy, const float *w, float *dx,
                              const mf_gemm_bwd_input_desc *d);
int mf_gemm_bwd_input_f32_ref(const float *dy, const float *w, float *dx,
                              const mf_gemm_bwd_input_desc *d);
int mf_gemm_bwd_input_f32_rvv(const float *dy, const float *w, float *dx,
                              const mf_gemm_bwd_input_desc *d);
int mf_gemm_bwd_weight_f32_mve(const float *a, const float *dy, float *dw, float *dc,
                               const mf_gemm_bwd_weight_desc *d);
int mf_gemm_bwd_weight_f32_ref(const float *a, const float *dy, float *dw, float *dc,
                               const mf_gemm_bwd_weight_desc *d);
int mf_gemm_bwd_weight_f32_rvv(const float *a, const float *dy, float *dw, float *dc,
                               const mf_gemm_bwd_weight_desc *d);
int mf_layernorm_bwd_input_f32_ref(const float *dy, const float *x, const float *gamma, float *dx,
                                   const mf_layernorm_desc *d);
int mf_layernorm_bwd_weight_f32_ref(const float *dy, const float *x, float *dgamma, float *dbeta,
                                    const mf_layernorm_desc *d);
int mf_loss_scale_update(mf_loss_scale *ls);
int mf_maxpool2d_bwd_input_f32_ref(const float *dy, const float *x, float *dx,
                                   const mf_pool2d_desc *d);
int mf_mse_loss_f32_ref(const float *y, const float *target, float *loss, float *dy,
                        const mf_loss_desc *d);
int mf_sgd_update_f32_ref(float *w, const float *g, float *buf, int32_t n, const mf_sgd_desc *d);
int mf_softmax_bwd_input_f32_ref(const float *dy, const float *y, float *dx,
                                 const mf_softmax_desc *d);
int mf_softmax_xent_f32_ref(const float *logits, const float *labels, float *loss, float *dlogits,
                            const mf_loss_desc *d);
#if defined(__FLT16_MAX__)
int mf_act_bwd_input_f16_ref(const mf_f16 *dy, const mf_f16 *v, mf_f16 *dx, int32_t n,
                             const mf_act *act, int32_t from_output);
int mf_adam_update_f16_ref(float *w, const mf_f16 *g, float *m, float *v, mf_f16 *w_half, int32_t n,
                           const mf_adam_desc *d, int32_t step, mf_loss_scale *ls);
int mf_avgpool2d_bwd_input_f16_ref(const mf_f16 *dy, mf_f16 *dx, const mf_pool2d_desc *d);
int mf_conv2d_bwd_input_f16_mve(const mf_f16 *dy, const mf_f16 *w, mf_f16 *dx,
                                const mf_conv2d_desc *d, mf_f16 *scratch);
int mf_conv2d_bwd_input_f16_ref(const mf_f16 *dy, const mf_f16 *w, mf_f16 *dx,
                                const mf_conv2d_desc *d);
int mf_conv2d_bwd_input_f16_rvv(const mf_f16 *dy, const mf_f16 *w, mf_f16 *dx,
                                const mf_conv2d_desc *d, mf_f16 *scratch);
int mf_conv2d_bwd_weight_f16_mve(const mf_f16 *x, const mf_f16 *dy, mf_f16 *dw, mf_f16 *db,
                                 const mf_conv2d_desc *d, mf_f16 *scratch);
int mf_conv2d_bwd_weight_f16_ref(const mf_f16 *x, const mf_f16 *dy, mf_f16 *dw, mf_f16 *db,
                                 const mf_conv2d_desc *d);
int mf_conv2d_bwd_weight_f16_rvv(const mf_f16 *x, const mf_f16 *dy, mf_f16 *dw, mf_f16 *db,
                                 const mf_conv2d_desc *d, mf_f16 *scratch);
int mf_gemm_bwd_input_f16_mve(const mf_f16 *dy, const mf_f16 *w, mf_f16 *dx,
                              const mf_gemm_bwd_input_desc *d);
int mf_gemm_bwd_input_f16_ref(const mf_f16 *dy, const mf_f16 *w, mf_f16 *dx,
                              const mf_gemm_bwd_input_desc *d);
int mf_gemm_bwd_input_f16_rvv(const mf_f16 *dy, const mf_f16 *w, mf_f16 *dx,
                              const mf_gemm_bwd_input_desc *d);
int mf_gemm_bwd_weight_f16_mve(const mf_f16 *a, const mf_f16 *dy, mf_f16 *dw, mf_f16 *dc,
                               const mf_gemm_bwd_weight_desc *d);
int mf_gemm_bwd_weight_f16_ref(const mf_f16 *a, const mf_f16 *dy, mf_f16 *dw, mf_f16 *dc,
                               const mf_gemm_bwd_weight_desc *d);
int mf_gemm_bwd_weight_f16_rvv(const mf_f16 *a, const mf_f16 *dy, mf_f16 *dw, mf_f16 *dc,
                               const mf_gemm_bwd_weight_desc *d);
int mf_layernorm_bwd_input_f16_ref(const mf_f16 *dy, const mf_f16 *x, const mf_f16 *gamma,
                                   mf_f16 *dx, const mf_layernorm_desc *d);
int mf_layernorm_bwd_weight_f16_ref(const mf_f16 *dy, const mf_f16 *x, mf_f16 *dgamma,
                                    mf_f16 *dbeta, const mf_layernorm_desc *d);
int mf_maxpool2d_bwd_input_f16_ref(const mf_f16 *dy, const mf_f16 *x, mf_f16 *dx,
                                   const mf_pool2d_desc *d);
int mf_mse_loss_f16_ref(const mf_f16 *y, const float *target, float *loss, mf_f16 *dy,
                        const mf_loss_desc *d, const mf_loss_scale *ls);
int mf_sgd_update_f16_ref(float *w, const mf_f16 *g, float *buf, mf_f16 *w_half, int32_t n,
                          const mf_sgd_desc *d, mf_loss_scale *ls);
int mf_softmax_bwd_input_f16_ref(const mf_f16 *dy, const mf_f16 *y, mf_f16 *dx,
                                 const mf_softmax_desc *d);
int mf_softmax_xent_f16_ref(const mf_f16 *logits, const float *labels, float *loss, mf_f16 *dlogits,
                            const mf_loss_desc *d, const mf_loss_scale *ls);
#endif
/* PROTOS_END */

#endif
