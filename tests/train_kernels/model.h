/* Backward-kernel test harness (tests/test_train_kernels.py builds it): implements the
 * generated model API so the board firmware main runs it. Chosen with -D: see model.c. */
#ifndef MODEL_H
#define MODEL_H

#include <stdint.h>

#define MF_MODEL_ARENA_BYTES 0
#define MF_MODEL_NUM_INPUTS 3
#define MF_MODEL_NUM_OUTPUTS 4
#define MF_MODEL_MACS 0

float *mf_model_input(int i);
int32_t mf_model_input_size(int i);
const float *mf_model_output(int i);
int32_t mf_model_output_size(int i);
int mf_model_run(void);

#endif
