/* Fused int8 attention, query rows in blocks (mf_int8_vit.h), through mf_matmul_s8_dsp. */
#include <string.h>

#include "mf_int8_vit.h"

#if defined(__ARM_FEATURE_DSP)
#define MF_ISA(op) op##_dsp
#include "qattention_s8.inc"
#endif
