/* int8 kernel test harness: runs a SIMD kernel (KS_FAST) and the tests' reference (s8_ref.c)
 * on the same data in one binary and returns both outputs. Only KS_FAST is counted: the
 * benchmark window is closed around everything else (the plugin sums windows).
 *
 *   KS_OP 1 conv2d, 2 fc; shapes in KS_* (tests/kernels/s8harness.py writes them);
 *   KS_OVERWRITE 1: a conv kernel whose output overwrites its input, run with y = x
 *   KS_FAST, KS_FAST_SCRATCH   the kernel and its *_scratch_bytes function
 *   KS_SCRATCH_BYTES           what the Python twin says the scratch takes: the harness
 *                              fails (status -100) when C disagrees
 * Input xw: x (or a) then w, as float32 integers; input params: bias, mult, shift (one per
 * output channel) as int32 bit patterns. Outputs fast and ref.
 * The fast output is followed by guard bytes that must survive (status -101 otherwise).
 * The kernel-harness protocol (kh.h): inputs xw and params, outputs fast and ref. */
#include <string.h>

#include "kh.h"
#include "mf_int8.h"
#include "s8_ref.h"

/* The harness is not what is measured, and clang's vectoriser turns its copy loops into
 * whole-register loads (vl2re32.v) that QEMU 7.2 aborts on (qemu issue 1441). */
#if defined(__clang__)
#pragma clang optimize off
#endif

#if KS_OP == 1
#define KS_X (KS_N * KS_CI * KS_H * KS_WI)
#define KS_W (KS_CO * (KS_CI / KS_G) * KS_KH * KS_KW)
#define KS_Y (KS_N * KS_CO * KS_HO * KS_WO)
#define KS_CH KS_CO
#else
#define KS_X (KS_M * KS_K)
#define KS_W (KS_NN * KS_K)
#define KS_Y (KS_M * KS_NN)
#define KS_CH KS_NN
#endif
#define KS_GUARD 32
/* KS_OVERWRITE: the kernel runs with y = x (its output over its input), in one buffer */
#if KS_OVERWRITE && KS_X > KS_Y
#define KS_XY KS_X
#else
#define KS_XY KS_Y
#endif

_Static_assert(KH_IN_XW_N == KS_X + KS_W && KH_IN_PARAMS_N == 3 * KS_CH && KH_OUT_FAST_N == KS_Y,
               "harness.py sizes");
static int8_t x[KS_X], w[KS_W], y_fast[KS_XY + KS_GUARD], y_ref[KS_Y];
static int32_t bias[KS_CH], mult[KS_CH], shift[KS_CH];
static uint8_t scratch[KS_SCRATCH_BYTES + 1] __attribute__((aligned(16)));

int kh_run(void)
{
    for (int32_t i = 0; i < KS_X; ++i) x[i] = (int8_t)kh_in_xw[i];
    for (int32_t i = 0; i < KS_W; ++i) w[i] = (int8_t)kh_in_xw[KS_X + i];
    memcpy(bias, kh_in_params, sizeof bias);
    memcpy(mult, kh_in_params + KS_CH, sizeof mult);
    memcpy(shift, kh_in_params + 2 * KS_CH, sizeof shift);
    for (int32_t i = 0; i < KS_XY + KS_GUARD; ++i) y_fast[i] = (int8_t)(0x5a ^ i);
#if KS_OVERWRITE
    memcpy(y_fast, x, KS_X);
    int8_t *const x_fast = y_fast;
#else
    const int8_t *const x_fast = x;
#endif
    for (int32_t i = 0; i < KS_SCRATCH_BYTES + 1; ++i) scratch[i] = 0xa5; /* no reliance on zeros */
    const mf_requant_s8 rq = {mult, shift, KS_PER_CHANNEL, KS_OUT_ZP, KS_ACT_MIN, KS_ACT_MAX};
#if KS_OP == 1
    const mf_conv2d_s8_desc d = {
        .n = KS_N, .c_in = KS_CI, .h_in = KS_H, .w_in = KS_WI, .c_out = KS_CO, .h_out = KS_HO,
        .w_out = KS_WO, .k_h = KS_KH, .k_w = KS_KW, .stride_h = KS_SH, .stride_w = KS_SW,
        .dil_h = KS_DH, .dil_w = KS_DW, .pad_top = KS_PT, .pad_left = KS_PL, .groups = KS_G,
        .in_zp = KS_IN_ZP, .rq = rq,
#if KS_WDSP
        .w_dsp = (const int32_t *)(const void *)kh_in_wdsp, /* int32 bit patterns */
#endif
    };
    const int st = kb_conv2d_s8_ref(x, w, bias, y_ref, &d);
#else
    const mf_fc_s8_desc d = {.m = KS_M, .n = KS_NN, .k = KS_K, .rq = rq};
    const int st = kb_fc_s8_ref(x, w, bias, y_ref, &d);
#endif
    if (KS_FAST_SCRATCH(&d) != KS_SCRATCH_BYTES) return -100;
    int st2;
    KH_MEASURE(st2 = KS_FAST(x_fast, w, bias, y_fast, &d, scratch));
    for (int32_t i = KS_XY; i < KS_XY + KS_GUARD; ++i)
        if (y_fast[i] != (int8_t)(0x5a ^ i)) return -101;
    for (int32_t i = 0; i < KS_Y; ++i) {
        kh_out_fast[i] = (float)y_fast[i];
        kh_out_ref[i] = (float)y_ref[i];
    }
    return st != 0 ? st : st2;
}
