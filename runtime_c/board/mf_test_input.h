/* Test inputs for the firmware main, defined by the generated test_input.c. */
#ifndef MF_TEST_INPUT_H
#define MF_TEST_INPUT_H

#include <stdint.h>

extern const int32_t mf_test_num_inputs;
extern const int32_t mf_test_input_sizes[];
/* float32 bit patterns, one array per model input */
extern const uint32_t *const mf_test_input_words[];

#endif /* MF_TEST_INPUT_H */
