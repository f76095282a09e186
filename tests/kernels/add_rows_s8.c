/* int8 strided-row add harness (tests/test_kernels_s8.py writes add_rows_data.h): runs a
 * SIMD mf_add_rows_s8_<isa> (KS_FAST, with the term tables) and the reference add of each
 * row (mf_add_rows_s8_ref without them: mf_add_s8_ref's own arithmetic) on the same data in
 * one binary, y over b in place, and returns both. Only KS_FAST is counted. Outputs: the
 * whole b buffer after each (the bytes between rows must survive). The kernel-harness
 * protocol (kh.h): the data come in add_rows_data.h (input `unused` is not read), outputs fast
 * and ref. */
#include <string.h>

#include "add_rows_data.h"
#include "kh.h"
#include "mf_int8.h"

/* The harness is not what is measured (see model_s8.c: QEMU 7.2 and clang's whole-register
 * copies). */
#if defined(__clang__)
#pragma clang optimize off
#endif

#define KS_B (KS_ROWS * KS_BSTRIDE)
_Static_assert(KH_OUT_FAST_N == KS_B && KH_OUT_REF_N == KS_B, "harness.py sizes");
static int8_t b_fast[KS_B], b_ref[KS_B];

int kh_run(void)
{
    memcpy(b_fast, ks_b, KS_B);
    memcpy(b_ref, ks_b, KS_B);
    const mf_requant_s8 rq = {ks_mult, ks_shift, 0, KS_OUT_ZP, KS_ACT_MIN, KS_ACT_MAX};
    mf_add_rows_s8_desc d = {
        .add = {.n = KS_N, .a_zp = KS_A_ZP, .b_zp = KS_B_ZP, .left_shift = KS_LEFT_SHIFT,
                .a_mult = KS_A_MULT, .a_shift = KS_A_SHIFT, .b_mult = KS_B_MULT,
                .b_shift = KS_B_SHIFT, .rq = rq},
        .rows = KS_ROWS, .a_stride = KS_ASTRIDE, .b_stride = KS_BSTRIDE, .y_stride = KS_BSTRIDE,
        .a_term = 0, .b_term = 0};
    const int st = mf_add_rows_s8_ref(ks_a, b_ref, b_ref, &d);
    d.a_term = ks_ta;
    d.b_term = ks_tb;
    int st2;
    KH_MEASURE(st2 = KS_FAST(ks_a, b_fast, b_fast, &d));
    for (int32_t i = 0; i < KS_B; ++i) {
        kh_out_fast[i] = (float)b_fast[i];
        kh_out_ref[i] = (float)b_ref[i];
    }
    return st != 0 ? st : st2;
}
