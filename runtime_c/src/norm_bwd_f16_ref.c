/* LayerNorm and Softmax backward, FP16 storage: row statistics and sums in FP32 (body:
 * norm_bwd_ref.inc). */
#include "mf_train.h"

#define MF_T mf_f16
#define MF_REF(op) op##_f16_ref
#define MF_LN_BWD_WEIGHT_BLOCKED
#include "norm_bwd_ref.inc"
