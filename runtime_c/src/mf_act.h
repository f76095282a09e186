/* Private to the runtime (kernel sources only): one activation value, the definition every
 * fused epilogue, mf_unary_* and mf_act_bwd_input_* share (elementwise_f32_ref.c, linked into
 * every build). Its numpy twin is toolchain/ops/elementwise.py's ACTIVATIONS table. */
#ifndef MF_ACT_H
#define MF_ACT_H

#include "mf_types.h"

float mf_act_apply_f32(const mf_act *act, float x);
/* The activation's derivative at its input x, and (returning 1 where exact) from its output y. */
float mf_act_deriv_f32(const mf_act *a, float x);
int mf_act_deriv_out_f32(const mf_act *a, float y, float *out);

#endif
