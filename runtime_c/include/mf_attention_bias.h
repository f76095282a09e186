/* Multi-head attention with a constant additive bias on the scaled scores (attention masks,
 * relative-position biases): softmax(scale * q k^T + bias) v, one query row and one head at a
 * time like mf_attention_*. bias is [bias_heads][n_q][n_kv], bias_heads 1 (shared by every
 * head) or d->heads. Same descriptor, strides and scratch (n_kv + dh floats) as mf_attention. */
#ifndef MF_ATTENTION_BIAS_H
#define MF_ATTENTION_BIAS_H

#include "mf_transformer.h" /* declares the mf_attention_bias kernels (from the kernel table) */

#endif
