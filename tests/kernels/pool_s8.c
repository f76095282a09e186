/* int8 average pooling harness (tests/test_kernels_s8.py writes pool_data.h): runs a SIMD
 * mf_avgpool_s8_<isa> (KS_FAST) and mf_avgpool_s8_ref on the same data in one binary and
 * returns both outputs. Only KS_FAST is counted. The kernel-harness protocol (kh.h): the
 * data come in pool_data.h (input `unused` is not read), outputs fast and ref. */
#include <stdint.h>

#include "kh.h"
#include "mf_int8.h"
#include "pool_data.h"

/* The harness is not what is measured (see model_s8.c: QEMU 7.2 and clang's whole-register
 * copies). */
#if defined(__clang__)
#pragma clang optimize off
#endif

#define KS_Y (KS_N * KS_C * KS_HO * KS_WO)
_Static_assert(KH_OUT_FAST_N == KS_Y && KH_OUT_REF_N == KS_Y, "harness.py sizes");
static int8_t y_fast[KS_Y], y_ref[KS_Y];

int kh_run(void)
{
    const mf_requant_s8 rq = {ks_mult, ks_shift, 0, KS_OUT_ZP, KS_ACT_MIN, KS_ACT_MAX};
    const mf_pool_s8_desc d = {.n = KS_N, .c = KS_C, .h_in = KS_H, .w_in = KS_W, .h_out = KS_HO,
                               .w_out = KS_WO, .k_h = KS_KH, .k_w = KS_KW, .stride_h = KS_SH,
                               .stride_w = KS_SW, .pad_top = KS_PT, .pad_left = KS_PL,
                               .in_zp = KS_IN_ZP, .rq = rq};
    const int st = mf_avgpool_s8_ref(ks_x, y_ref, &d);
    int st2;
    KH_MEASURE(st2 = KS_FAST(ks_x, y_fast, &d));
    for (int32_t i = 0; i < KS_Y; ++i) {
        kh_out_fast[i] = (float)y_fast[i];
        kh_out_ref[i] = (float)y_ref[i];
    }
    return st != 0 ? st : st2;
}
