/* Kernel test harness: runs a fast kernel (KB_FAST) and its reference (KB_REF) on the same
 * data in one binary and returns both outputs. Only the fast kernel is counted: the harness
 * closes the firmware's benchmark window around everything else (the plugin sums windows).
 *
 *   KB_OP      1 gemm (KB_M x KB_K times KB_K x KB_N), 2 conv2d (mf_conv2d_desc fields below),
 *              3 conv2d_overwrite: KB_FAST runs with y == x (one buffer), KB_REF is the
 *              plain reference conv on separate buffers
 *   KB_T       element type of the kernels (float or mf_f16); inputs arrive as float32
 *   KB_FAST, KB_REF   kernel names; KB_SCRATCH 1 when KB_FAST takes a scratch pointer
 *   KB_COLS    the fast kernel's MF_CONV_COLS_<ISA> (scratch size)
 * Inputs x (or A) and w (or B); outputs fast and ref (the kernel-harness protocol, kh.h). */
#include "kh.h"
#include "mf_kernels.h"

#if KB_OP == 1
#define KB_X (KB_M * KB_K)
#define KB_W (KB_K * KB_N)
#define KB_Y (KB_M * KB_N)
#define KB_SCRATCH_ELEMS 1
#define KB_BIAS 1
#else
#define KB_HO ((KB_H + 2 * KB_PAD - KB_KH) / KB_S + 1)
#define KB_WO ((KB_W_IN + 2 * KB_PAD - KB_KW) / KB_S + 1)
#define KB_X (KB_CI * KB_H * KB_W_IN)
#define KB_W (KB_CO * (KB_CI / KB_G) * KB_KH * KB_KW)
#define KB_Y (KB_CO * KB_HO * KB_WO)
#define KB_BIAS KB_CO
#if KB_OP == 3 /* a (padded) depthwise plane or a c_out x cols tile, whichever is larger */
#define KB_PLANE (((KB_HO - 1) * KB_S + KB_KH) * ((KB_WO - 1) * KB_S + KB_KW) + KB_H * KB_W_IN)
#define KB_SCRATCH_ELEMS (KB_PLANE > KB_CO * KB_COLS ? KB_PLANE : KB_CO * KB_COLS)
#else
#define KB_SCRATCH_ELEMS ((KB_CI / KB_G) * KB_KH * KB_KW * KB_COLS + 1)
#endif
#endif
#define KB_BUF (KB_X > KB_Y ? KB_X : KB_Y)

static KB_T x[KB_X], w[KB_W], y_fast[KB_BUF], y_ref[KB_Y], bias[KB_BIAS];
static KB_T scratch[KB_SCRATCH_ELEMS] __attribute__((aligned(16)));

int kh_run(void)
{
    for (int32_t i = 0; i < KB_X; ++i) x[i] = (KB_T)kh_in_x[i];
    for (int32_t i = 0; i < KB_W; ++i) w[i] = (KB_T)kh_in_w[i];
    (void)bias;
    (void)scratch;
#if KB_OP == 1
    static const mf_gemm_desc d = {.batch_rank = 0, .m = KB_M, .n = KB_N, .k = KB_K,
                                   .a_rs = KB_K, .a_cs = 1, .b_rs = KB_N, .b_cs = 1,
                                   .alpha = 1.0f, .beta = 1.0f, .act = {MF_ACT_NONE, 0.0f, 0.0f}};
    int st = KB_REF(x, w, 0, y_ref, &d), st2;
    KH_MEASURE(st2 = KB_FAST(x, w, 0, y_fast, &d));
#else
    for (int32_t i = 0; i < KB_BIAS; ++i) bias[i] = (KB_T)(0.01f * (float)(i % 7));
    static const mf_conv2d_desc d = {
        .n = 1, .c_in = KB_CI, .h_in = KB_H, .w_in = KB_W_IN, .c_out = KB_CO, .h_out = KB_HO,
        .w_out = KB_WO, .k_h = KB_KH, .k_w = KB_KW, .stride_h = KB_S, .stride_w = KB_S,
        .dil_h = 1, .dil_w = 1, .pad_top = KB_PAD, .pad_left = KB_PAD, .groups = KB_G,
        .act = {KB_ACT, 0.0f, 0.0f}};
    int st = KB_REF(x, w, bias, y_ref, &d), st2;
#if KB_OP == 3
    for (int32_t i = 0; i < KB_X; ++i) y_fast[i] = x[i];
    KH_MEASURE(st2 = KB_FAST(y_fast, w, bias, y_fast, scratch, &d));
#elif KB_SCRATCH
    KH_MEASURE(st2 = KB_FAST(x, w, bias, y_fast, &d, scratch));
#else
    KH_MEASURE(st2 = KB_FAST(x, w, bias, y_fast, &d));
#endif
#endif
    for (int32_t i = 0; i < KB_Y; ++i) {
        kh_out_fast[i] = (float)y_fast[i];
        kh_out_ref[i] = (float)y_ref[i];
    }
    return st != 0 ? st : st2;
}
