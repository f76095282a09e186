/* Fused int8 attention, query rows in blocks (mf_int8_vit.h), through mf_matmul_s8_rvv. */
#include <string.h>

#include "mf_int8_vit.h"

#if defined(__riscv_vector)
#define MF_ISA(op) op##_rvv
#include "qattention_s8.inc"
#endif
