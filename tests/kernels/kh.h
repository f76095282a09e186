/* The kernel-harness protocol (tests/kernels/harness.py builds every case with it).
 *
 * A case's C file defines kh_run(): it reads its named inputs kh_in_<name>[KH_IN_<NAME>_N]
 * (float32 values, or int32 bit patterns to memcpy), runs the reference and the fast kernel
 * on the same data, writes its named outputs kh_out_<name>[KH_OUT_<NAME>_N] and returns 0, or
 * a kernel's non-zero status (a harness check of its own: a negative code it documents).
 * Only what KH_MEASURE wraps is counted (the benchmark window is closed around the rest). */
#ifndef KH_H
#define KH_H

#include <stdint.h>

#include "kh_io.h"
#include "mf_board.h"

int kh_run(void);

#define KH_MEASURE(stmt)                                                                          \
    do {                                                                                        \
        mf_bench_start();                                                                       \
        stmt;                                                                                   \
        mf_bench_stop();                                                                        \
    } while (0)

#endif
