/* Backward-kernel harness: a SIMD kernel pair (_bwd_input, _bwd_weight) and its ref twin on
 * the same data in one binary; only the SIMD pair is inside the benchmark window.
 *
 *   KB_OP 1 gemm: A [M][K] times W, dy [M][N]. KB_TRANS 0: W [K][N] (x @ W, the input
 *         gradient reads W with strided rows); 1: W [N][K] (Gemm transB). The bias gradient
 *         is a broadcast row (m = 1).
 *   KB_OP 2 conv2d with the forward harness's fields (tests/kernels/model.c).
 *   KB_T element type (float, mf_f16), KB_DT its suffix (f32, f16), KB_ISA (rvv, mve).
 * The kernel-harness protocol (kh.h): inputs x (or A), w, dy; outputs dx_fast, dx_ref, and
 * dw_fast, dw_ref (dw then db). */
#include "kh.h"
#include "mf_train.h"

#define CAT4(a, b, c, d) a##b##c##d
#define NAME(op, dt, isa) CAT4(op, dt, _, isa)
#define FAST_IN NAME(KB_IN_OP, KB_DT, KB_ISA)
#define FAST_W NAME(KB_W_OP, KB_DT, KB_ISA)
#define REF_IN NAME(KB_IN_OP, KB_DT, ref)
#define REF_W NAME(KB_W_OP, KB_DT, ref)

#if KB_OP == 1
#define KB_IN_OP mf_gemm_bwd_input_
#define KB_W_OP mf_gemm_bwd_weight_
#define KB_X (KB_M * KB_K)
#define KB_WN (KB_K * KB_N)
#define KB_DY (KB_M * KB_N)
#define KB_B KB_N
#define KB_SCRATCH_ELEMS 1
#else
#define KB_IN_OP mf_conv2d_bwd_input_
#define KB_W_OP mf_conv2d_bwd_weight_
#define KB_HO ((KB_H + 2 * KB_PAD - KB_KH) / KB_S + 1)
#define KB_WO ((KB_W_IN + 2 * KB_PAD - KB_KW) / KB_S + 1)
#define KB_X (KB_CI * KB_H * KB_W_IN)
#define KB_WN (KB_CO * (KB_CI / KB_G) * KB_KH * KB_KW)
#define KB_DY (KB_CO * KB_HO * KB_WO)
#define KB_B KB_CO
#define KB_SCRATCH_ELEMS ((KB_CI / KB_G) * KB_KH * KB_KW * KB_COLS + 1)
#endif

_Static_assert(KH_IN_X_N == KB_X && KH_IN_W_N == KB_WN && KH_IN_DY_N == KB_DY && KH_OUT_DX_FAST_N == KB_X &&
                   KH_OUT_DW_FAST_N == KB_WN + KB_B,
               "harness.py sizes");
static KB_T x[KB_X], w[KB_WN], dy[KB_DY], dx[2][KB_X], dw[2][KB_WN], db[2][KB_B];
static KB_T scratch[KB_SCRATCH_ELEMS] __attribute__((aligned(16)));

int kh_run(void)
{
    for (int32_t i = 0; i < KB_X; ++i) x[i] = (KB_T)kh_in_x[i];
    for (int32_t i = 0; i < KB_WN; ++i) w[i] = (KB_T)kh_in_w[i];
    for (int32_t i = 0; i < KB_DY; ++i) dy[i] = (KB_T)kh_in_dy[i];
    (void)scratch;
    int st[4];
#if KB_OP == 1
    static const mf_gemm_bwd_input_desc di = {
        .batch_rank = 0, .m = KB_M, .n = KB_N, .k = KB_K, .dy_rs = KB_N, .dy_cs = 1,
        .w_rs = KB_TRANS ? 1 : KB_N, .w_cs = KB_TRANS ? KB_K : 1, .o_rs = KB_K, .o_cs = 1, .alpha = 1.0f};
    static const mf_gemm_bwd_weight_desc dd = {
        .rows = KB_M, .m = 1, .n = KB_N, .k = KB_K, .a_rs = KB_K, .a_cs = 1,
        .w_ks = KB_TRANS ? 1 : KB_N, .w_ns = KB_TRANS ? KB_K : 1, .c_size = KB_N, .c_rs = 0, .c_cs = 1,
        .alpha = 1.0f, .beta = 1.0f};
    st[0] = REF_IN(dy, w, dx[1], &di);
    st[1] = REF_W(x, dy, dw[1], db[1], &dd);
    KH_MEASURE(st[2] = FAST_IN(dy, w, dx[0], &di);
               st[3] = FAST_W(x, dy, dw[0], db[0], &dd));
#else
    static const mf_conv2d_desc d = {
        .n = 1, .c_in = KB_CI, .h_in = KB_H, .w_in = KB_W_IN, .c_out = KB_CO, .h_out = KB_HO,
        .w_out = KB_WO, .k_h = KB_KH, .k_w = KB_KW, .stride_h = KB_S, .stride_w = KB_S,
        .dil_h = 1, .dil_w = 1, .pad_top = KB_PAD, .pad_left = KB_PAD, .groups = KB_G,
        .act = {MF_ACT_NONE, 0.0f, 0.0f}};
    st[0] = REF_IN(dy, w, dx[1], &d);
    st[1] = REF_W(x, dy, dw[1], db[1], &d);
    KH_MEASURE(st[2] = FAST_IN(dy, w, dx[0], &d, scratch);
               st[3] = FAST_W(x, dy, dw[0], db[0], &d, scratch));
#endif
    float *const out_dx[2] = {kh_out_dx_fast, kh_out_dx_ref};
    float *const out_dw[2] = {kh_out_dw_fast, kh_out_dw_ref};
    for (int f = 0; f < 2; ++f) {
        for (int32_t i = 0; i < KB_X; ++i) out_dx[f][i] = (float)dx[f][i];
        for (int32_t i = 0; i < KB_WN; ++i) out_dw[f][i] = (float)dw[f][i];
        for (int32_t i = 0; i < KB_B; ++i) out_dw[f][KB_WN + i] = (float)db[f][i];
    }
    for (int i = 0; i < 4; ++i)
        if (st[i] != 0) return st[i];
    return 0;
}
