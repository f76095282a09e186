/* Training kernels: per op family a `_bwd_input` (gradient of the data input) and a
 * `_bwd_weight` (gradient of weights and bias) entry point, plus losses and optimizer updates.
 * The forward pass uses the inference kernels unchanged.
 *
 * Contract as for the forward kernels: status return, arguments checked first, no malloc, no
 * globals. Accumulation is FP32 throughout (one float accumulator per output element).
 * Extension point: FP16 / SIMD variants are added as mf_<op>_bwd_<entry>_<dtype>_<isa> with
 * these same descriptors; toolchain/train/kernels.py is the one place that picks the name. */
#ifndef MF_TRAIN_H
#define MF_TRAIN_H

#include "mf_types.h"
#include "mf_conv.h"
#include "mf_gemm.h"
#include "mf_norm.h"
#include "mf_pool.h"

/* dx = dy * act'(.) for n elements. v is the activation's input, or its output when
 * from_output (RELU, CLIP, SIGMOID, TANH, EXP only). dx may equal dy. */
int mf_act_bwd_input_f32_ref(const float *dy, const float *v, float *dx, int32_t n,
                             const mf_act *act, int32_t from_output);

/* Convolution (same descriptor as the forward; its act is ignored: see mf_act_bwd_input). */
int mf_conv2d_bwd_input_f32_ref(const float *dy, const float *w, float *dx,
                                const mf_conv2d_desc *d);
/* dw and db may each be NULL (not trained). */
int mf_conv2d_bwd_weight_f32_ref(const float *x, const float *dy, float *dw, float *db,
                                 const mf_conv2d_desc *d);

/* For each batch index b over batch_shape:
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

int mf_gemm_bwd_input_f32_ref(const float *dy, const float *w, float *dx,
                              const mf_gemm_bwd_input_desc *d);

/* Rows r = 0..rows-1 of A (A[r][k] = a[r*a_rs + k*a_cs]) and of dy (contiguous, n columns):
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

int mf_gemm_bwd_weight_f32_ref(const float *a, const float *dy, float *dw, float *dc,
                               const mf_gemm_bwd_weight_desc *d);

/* Pooling: the gradient goes to the window's maximum (the first one in scan order, as the
 * forward picks it) or is spread evenly over the counted window. */
int mf_maxpool2d_bwd_input_f32_ref(const float *dy, const float *x, float *dx,
                                   const mf_pool2d_desc *d);
int mf_avgpool2d_bwd_input_f32_ref(const float *dy, float *dx, const mf_pool2d_desc *d);

/* LayerNorm: mean and 1/std are recomputed from x (costs compute, saves 2 floats per row
 * of RAM between forward and backward). gamma may be NULL (= 1). */
int mf_layernorm_bwd_input_f32_ref(const float *dy, const float *x, const float *gamma,
                                   float *dx, const mf_layernorm_desc *d);
int mf_layernorm_bwd_weight_f32_ref(const float *dy, const float *x, float *dgamma,
                                    float *dbeta, const mf_layernorm_desc *d);

/* Softmax (log = 0) or LogSoftmax (log = 1) from its output y. dx may equal dy. */
int mf_softmax_bwd_input_f32_ref(const float *dy, const float *y, float *dx,
                                 const mf_softmax_desc *d);

/* Losses over `rows` rows of `cols`, mean-reduced as PyTorch's defaults. */
typedef struct {
    int32_t rows, cols;
} mf_loss_desc;

/* labels hold class indices as floats (exact below 2^24), one per row. */
int mf_softmax_xent_f32_ref(const float *logits, const float *labels, float *loss,
                            float *dlogits, const mf_loss_desc *d);
int mf_mse_loss_f32_ref(const float *y, const float *target, float *loss, float *dy,
                        const mf_loss_desc *d);

/* Optimizers, PyTorch semantics. buf may be NULL when momentum is 0. */
typedef struct {
    float lr, momentum, weight_decay;
} mf_sgd_desc;

int mf_sgd_update_f32_ref(float *w, const float *g, float *buf, int32_t n,
                          const mf_sgd_desc *d);

typedef struct {
    float lr, beta1, beta2, eps, weight_decay;
} mf_adam_desc;

/* step counts from 1 (bias correction). */
int mf_adam_update_f32_ref(float *w, const float *g, float *m, float *v, int32_t n,
                           const mf_adam_desc *d, int32_t step);

#endif
