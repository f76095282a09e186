<<<<<<< HEAD
/* int8 average pooling harness (tests/test_kernels_s8.py writes pool_data.h): runs a SIMD
=======
/* int8 average pool harness (tests/test_pool_s8_dsp.py writes pool_data.h): runs a SIMD
>>>>>>> int8m7
 * mf_avgpool_s8_<isa> (KS_FAST) and mf_avgpool_s8_ref on the same data in one binary and
 * returns both outputs. Only KS_FAST is counted. */
#include <stdint.h>
#include <string.h>

#include "mf_board.h"
#include "mf_int8.h"
#include "model.h"
#include "pool_data.h"

<<<<<<< HEAD
/* The harness is not what is measured (see model_s8.c: QEMU 7.2 and clang's whole-register
 * copies). */
=======
/* The harness is not what is measured (see model_s8.c). */
>>>>>>> int8m7
#if defined(__clang__)
#pragma clang optimize off
#endif

#define KS_Y (KS_N * KS_C * KS_HO * KS_WO)
static float in_dummy[1], out_fast[KS_Y], out_ref[KS_Y];
static int8_t y_fast[KS_Y], y_ref[KS_Y];

float *mf_model_input(int i) { return i < 2 ? in_dummy : 0; }
int32_t mf_model_input_size(int i) { return i < 2 ? 1 : 0; }
const float *mf_model_output(int i) { return i == 0 ? out_fast : i == 1 ? out_ref : 0; }
int32_t mf_model_output_size(int i) { return i < 2 ? KS_Y : 0; }

int mf_model_run(void)
{
    mf_bench_stop();
<<<<<<< HEAD
    const mf_requant_s8 rq = {ks_mult, ks_shift, 0, KS_OUT_ZP, KS_ACT_MIN, KS_ACT_MAX};
    const mf_pool_s8_desc d = {.n = KS_N, .c = KS_C, .h_in = KS_H, .w_in = KS_W, .h_out = KS_HO,
                               .w_out = KS_WO, .k_h = KS_KH, .k_w = KS_KW, .stride_h = KS_SH,
                               .stride_w = KS_SW, .pad_top = KS_PT, .pad_left = KS_PL,
                               .in_zp = KS_IN_ZP, .rq = rq};
=======
    const mf_pool_s8_desc d = {
        .n = KS_N, .c = KS_C, .h_in = KS_H, .w_in = KS_W, .h_out = KS_HO, .w_out = KS_WO,
        .k_h = KS_KH, .k_w = KS_KW, .stride_h = KS_SH, .stride_w = KS_SW, .pad_top = KS_PT,
        .pad_left = KS_PL, .in_zp = KS_IN_ZP,
        .rq = {ks_mult, ks_shift, 0, KS_OUT_ZP, KS_ACT_MIN, KS_ACT_MAX}};
>>>>>>> int8m7
    const int st = mf_avgpool_s8_ref(ks_x, y_ref, &d);
    mf_bench_start();
    const int st2 = KS_FAST(ks_x, y_fast, &d);
    mf_bench_stop();
    for (int32_t i = 0; i < KS_Y; ++i) {
        out_fast[i] = (float)y_fast[i];
        out_ref[i] = (float)y_ref[i];
    }
    mf_bench_start();
    return st != 0 ? st : st2;
}
