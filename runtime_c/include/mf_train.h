/* Training kernels: per op family a `_bwd_input` (gradient of the data input) and a
 * `_bwd_weight` (gradient of weights and bias) entry point, plus losses and optimizer updates.
 * The forward pass uses the inference kernels unchanged. Each family's backward kernels are
 * declared in its own header (mf_conv.h, mf_gemm.h, mf_norm.h, mf_pool.h, mf_elementwise.h,
 * all included here); this one is the family of the losses and optimizer updates. The SIMD
 * backward's micro-kernel and im2col drivers are private (runtime_c/src/mf_train_impl.h).
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
#include "mf_elementwise.h"
#include "mf_gemm.h"
#include "mf_norm.h"
#include "mf_pool.h"

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

/* FP16 variants: FP16 tensors, FP32 descriptors and scalars. Losses read FP16 predictions and
 * FP32 labels, write the FP32 loss and the FP16 gradient times ls->scale. Updates take the
 * FP32 master w (and FP32 state) and the FP16 gradient, and write the FP16 copy w_half. */
/* PROTOS_BEGIN: generated from toolchain/ops/kernel_table.py by `make protos`; do not edit */
int mf_adam_update_f32_ref(float *w, const float *g, float *m, float *v, int32_t n,
                           const mf_adam_desc *d, int32_t step);
int mf_loss_scale_update(mf_loss_scale *ls);
int mf_mse_loss_f32_ref(const float *y, const float *target, float *loss, float *dy,
                        const mf_loss_desc *d);
int mf_sgd_update_f32_ref(float *w, const float *g, float *buf, int32_t n, const mf_sgd_desc *d);
int mf_softmax_xent_f32_ref(const float *logits, const float *labels, float *loss, float *dlogits,
                            const mf_loss_desc *d);
#if defined(__FLT16_MAX__)
int mf_adam_update_f16_ref(float *w, const mf_f16 *g, float *m, float *v, mf_f16 *w_half, int32_t n,
                           const mf_adam_desc *d, int32_t step, mf_loss_scale *ls);
int mf_mse_loss_f16_ref(const mf_f16 *y, const float *target, float *loss, mf_f16 *dy,
                        const mf_loss_desc *d, const mf_loss_scale *ls);
int mf_sgd_update_f16_ref(float *w, const mf_f16 *g, float *buf, mf_f16 *w_half, int32_t n,
                          const mf_sgd_desc *d, mf_loss_scale *ls);
int mf_softmax_xent_f16_ref(const mf_f16 *logits, const float *labels, float *loss, mf_f16 *dlogits,
                            const mf_loss_desc *d, const mf_loss_scale *ls);
#endif
/* PROTOS_END */

#endif
