/* Pooling backward, FP16 storage, FP32 arithmetic (body: pool_bwd_ref.inc). */
#include "mf_train.h"

#define MF_T mf_f16
#define MF_REF(op) op##_f16_ref
#include "pool_bwd_ref.inc"
