/* Integrated-transformer kernel harness (tests/kernels/tharness.py writes kt_case.h and builds
 * it): runs the reference (KT_REF) and a fast kernel (KT_FAST) on the same seeded data in one
 * binary and returns both outputs; only the fast kernel's instructions are counted.
 *
 * kt_case.h defines KT_T (element type), KT_IN (floats of input 0: every operand, packed),
 * KT_OUT (output elements), KT_SCRATCH (scratch elements), kt_blob (KT_T[KT_IN], which the
 * descriptors point into), KT_X / KT_XN (offset and length of the input a kernel may
 * overwrite), KT_INPLACE (1: the fast kernel writes over its own copy of that input) and
 * KT_CALL(fn, x, y, scratch), the call with the case's descriptor. The same harness serves the
 * FP16 SIMD LayerNorm / Softmax / unary kernels (no scratch). */
#include <stdint.h>

#include "mf_board.h"
#include "mf_kernels.h"
#include "model.h"
#include "kt_case.h"

#define KT_YBUF (KT_OUT > KT_XN ? KT_OUT : KT_XN)

static float in0[KT_IN], unused[1], out_fast[KT_OUT], out_ref[KT_OUT];
static KT_T y_fast[KT_YBUF] __attribute__((aligned(16)));
static KT_T y_ref[KT_YBUF] __attribute__((aligned(16)));
static KT_T scratch[KT_SCRATCH + 1] __attribute__((aligned(16)));

/* model.h's two inputs: the operands, and one float nothing reads */
float *mf_model_input(int i) { return i == 0 ? in0 : i == 1 ? unused : 0; }
int32_t mf_model_input_size(int i) { return i == 0 ? KT_IN : i == 1 ? 1 : 0; }
const float *mf_model_output(int i) { return i == 0 ? out_fast : i == 1 ? out_ref : 0; }
int32_t mf_model_output_size(int i) { return i < 2 ? KT_OUT : 0; }

int mf_model_run(void)
{
    mf_bench_stop();
    for (int32_t i = 0; i < KT_IN; ++i) kt_blob[i] = (KT_T)in0[i];
    (void)scratch; /* the norm kernels take none */
    int st = KT_CALL(KT_REF, kt_blob + KT_X, y_ref, scratch);
    const KT_T *x = kt_blob + KT_X;
#if KT_INPLACE
    for (int32_t i = 0; i < KT_XN; ++i) y_fast[i] = kt_blob[KT_X + i];
    x = y_fast;
#endif
    mf_bench_start();
    int st2 = KT_CALL(KT_FAST, x, y_fast, scratch);
    mf_bench_stop();
    for (int32_t i = 0; i < KT_OUT; ++i) {
        out_fast[i] = (float)y_fast[i];
        out_ref[i] = (float)y_ref[i];
    }
    mf_bench_start();
    return st != 0 ? st : st2;
}
