/* int8 strided-row add harness (tests/test_kernels_s8.py writes add_rows_data.h): runs a
 * SIMD mf_add_rows_s8_<isa> (KS_FAST, with the term tables) and the reference add of each
 * row (mf_add_rows_s8_ref without them: mf_add_s8_ref's own arithmetic) on the same data in
 * one binary, y over b in place, and returns both. Only KS_FAST is counted. Outputs: the
 * whole b buffer after each (the bytes between rows must survive). */
#include <stdint.h>
#include <string.h>

#include "add_rows_data.h"
#include "mf_board.h"
#include "mf_int8.h"
#include "model.h"

/* The harness is not what is measured (see model_s8.c: QEMU 7.2 and clang's whole-register
 * copies). */
#if defined(__clang__)
#pragma clang optimize off
#endif

#define KS_B (KS_ROWS * KS_BSTRIDE)
static float in_dummy[1], out_fast[KS_B], out_ref[KS_B];
static int8_t b_fast[KS_B], b_ref[KS_B];

float *mf_model_input(int i) { return i < 2 ? in_dummy : 0; }
int32_t mf_model_input_size(int i) { return i < 2 ? 1 : 0; }
const float *mf_model_output(int i) { return i == 0 ? out_fast : i == 1 ? out_ref : 0; }
int32_t mf_model_output_size(int i) { return i < 2 ? KS_B : 0; }

int mf_model_run(void)
{
    mf_bench_stop();
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
    mf_bench_start();
    const int st2 = KS_FAST(ks_a, b_fast, b_fast, &d);
    mf_bench_stop();
    for (int32_t i = 0; i < KS_B; ++i) {
        out_fast[i] = (float)b_fast[i];
        out_ref[i] = (float)b_ref[i];
    }
    mf_bench_start();
    return st != 0 ? st : st2;
}
