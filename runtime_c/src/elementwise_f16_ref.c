/* Element-wise FP16 reference kernels: halves in and out, FP32 arithmetic (see mf_f16.h);
 * activations share mf_act_apply_f32 with the FP32 kernels (body: elementwise_ref.inc). */
#include "mf_act.h"
#include "mf_f16.h"
#define MF_T mf_f16
#define MF_REF(op) op##_f16_ref
#include "elementwise_ref.inc"
