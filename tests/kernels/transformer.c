/* Integrated-transformer kernel harness (tests/kernels/tharness.py writes kt_case.h and builds
 * it): runs the reference (KT_REF) and a fast kernel (KT_FAST) on the same seeded data in one
 * binary and returns both outputs; only the fast kernel's instructions are counted.
 *
 * kt_case.h defines KT_T (element type), KT_IN (floats of input 0: every operand, packed),
 * KT_OUT (output elements), KT_SCRATCH (scratch elements), kt_blob (KT_T[KT_IN], which the
 * descriptors point into), KT_X / KT_XN (offset and length of the input a kernel may
 * overwrite), KT_INPLACE (1: the fast kernel writes over its own copy of that input) and
 * KT_CALL(fn, x, y, scratch), the call with the case's descriptor. The same harness serves the
 * FP16 SIMD LayerNorm / Softmax / unary kernels (no scratch). The kernel-harness protocol
 * (kh.h): input x (the operands), outputs fast and ref. */
#include "kh.h"
#include "mf_kernels.h"
#include "kt_case.h"

#define KT_YBUF (KT_OUT > KT_XN ? KT_OUT : KT_XN)

_Static_assert(KH_IN_X_N == KT_IN && KH_OUT_FAST_N == KT_OUT, "harness.py sizes");
static KT_T y_fast[KT_YBUF] __attribute__((aligned(16)));
static KT_T y_ref[KT_YBUF] __attribute__((aligned(16)));
static KT_T scratch[KT_SCRATCH + 1] __attribute__((aligned(16)));

int kh_run(void)
{
    for (int32_t i = 0; i < KT_IN; ++i) kt_blob[i] = (KT_T)kh_in_x[i];
    (void)scratch; /* the norm kernels take none */
    int st = KT_CALL(KT_REF, kt_blob + KT_X, y_ref, scratch);
    const KT_T *x = kt_blob + KT_X;
#if KT_INPLACE
    for (int32_t i = 0; i < KT_XN; ++i) y_fast[i] = kt_blob[KT_X + i];
    x = y_fast;
#endif
    int st2;
    KH_MEASURE(st2 = KT_CALL(KT_FAST, x, y_fast, scratch));
    for (int32_t i = 0; i < KT_OUT; ++i) {
        kh_out_fast[i] = (float)y_fast[i];
        kh_out_ref[i] = (float)y_ref[i];
    }
    return st != 0 ? st : st2;
}
