/* Firmware fixture (tests/test_cluster_rvv.py): the parallel twins (par_*.c) against their
 * one-hart kernels, bit for bit, in one binary on the cluster board. The "model" has one dummy
 * input; its outputs hold a word per case (0: RVV FP32 convs, 1: FP32 training kernels,
 * 2: matmul, softmax, LayerNorm, 3: FP16 training kernels): 1 where the twin's output equals
 * the plain kernel's bit for bit (and both returned MF_OK), 0 where not, -1 where the shape
 * has no such case. Implements docs/generated_c_api.md. */
#ifndef MODEL_H
#define MODEL_H

#include <stdint.h>

#define MF_MODEL_ARENA_BYTES   4
#define MF_MODEL_NUM_INPUTS    1
#define MF_MODEL_NUM_OUTPUTS   4
#define MF_MODEL_MACS          0

float       *mf_model_input(int i);
int32_t      mf_model_input_size(int i);
const float *mf_model_output(int i);
int32_t      mf_model_output_size(int i);
int          mf_model_run(void);

#endif /* MODEL_H */
