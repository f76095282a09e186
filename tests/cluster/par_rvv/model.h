/* Firmware fixture (tests/test_cluster_rvv.py): the parallel twins (par_*.c) against their
 * one-hart kernels, bit for bit, in one binary on the cluster board. The "model" has one dummy
 * input; its outputs hold a word per case (0: RVV FP32 convs, 1: FP32 training kernels,
 * 2: matmul, softmax, LayerNorm, 3: FP16 training kernels): 1 where the twin's output equals
 * the plain kernel's bit for bit (and both returned MF_OK), 0 where not, -1 where the shape
 * has no such case. Implements docs/generated_c_api.md. */
#ifndef MODEL_H
#define MODEL_H

#define MF_MODEL_ARENA_BYTES   4
#define MF_MODEL_NUM_INPUTS    1
#define MF_MODEL_NUM_OUTPUTS   4
#define MF_MODEL_MACS          0

#include "../../fixtures/model_api.h"

#endif /* MODEL_H */
