/* Fused int8 attention, query rows in blocks (mf_int8_vit.h), through mf_matmul_s8_mve. */
#include <string.h>

#include "mf_int8_vit.h"

#if defined(__ARM_FEATURE_MVE)
#define MF_ISA(op) op##_mve
#include "qattention_s8.inc"
#endif
