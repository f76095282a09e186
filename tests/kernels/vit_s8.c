/* Harness of the integer ViT kernels (mf_int8_vit.h; tests/kernels/vitharness.py builds it):
 * the SIMD variant KS_FAST and mf_*_s8_ref on the same data in one binary, both outputs
 * returned; only KS_FAST is inside the benchmark window.
 *   KS_OP 1 matmul: KS_BATCH, KS_M, KS_N, KS_K, KS_BT (B as [n][k]), KS_AZP, KS_BZP,
 *           KS_MULT, KS_SHIFT, KS_OZP; input 0: a then b (int8 values as float32)
 *   KS_OP 2 layernorm: KS_ROWS, KS_COLS, KS_INZP, KS_OZP, KS_EPS, KS_GSHIFT; input 0: x,
 *           input 1: gamma then beta (int32 bit patterns)
 *   KS_OP 3 attention: the matmul's defines for Q K^T (KS_BATCH heads, KS_N keys), KS_DV,
 *           KS_V* for the AV MatMul, KS_SM* for the softmax, KS_BLOCK, KS_LUT (0: no table),
 *           KS_TOK (1: q, k, v and y as [tokens][heads][d], read through strides; K as
 *           [n][k] then); input 0: q, k, v; input 1: the int8 table then the softmax's exp
 *           table (int32 bit patterns)
 *   KS_OP 4 lut: KS_N; input 0: x, input 1: the table (int32 bit patterns of int8 values)
 *   KS_OP 5 softmax: KS_ROWS, KS_COLS, KS_MULT, KS_SHIFT, KS_OZP; input 0: x, input 1: the
 *           exp table
 *   KS_OP 6 mul: KS_N, KS_AZP, KS_BZP, KS_MULT, KS_SHIFT, KS_OZP, KS_LO, KS_HI; input 0: a, b
 *   KS_OP 7 add, 8 add of a row: KS_ROWS (8: rows of x), KS_N, KS_AZP, KS_BZP, KS_LS,
 *           KS_AMULT, KS_ASHIFT, KS_BMULT, KS_BSHIFT and the output's KS_MULT, KS_SHIFT,
 *           KS_OZP, KS_LO, KS_HI; input 0: a (or x) then b (or the row)
 * Guard bytes after the fast output must survive (status -101 otherwise).
 * The kernel-harness protocol (kh.h): inputs x (input 0 above) and p (input 1), outputs fast
 * and ref. */
#include <string.h>

#include "kh.h"
#include "mf_int8_vit.h"

/* the copy loops are not measured; clang's vectoriser would make whole-register loads of
 * them that QEMU 7.2 aborts on (qemu issue 1441) */
#if defined(__clang__)
#pragma clang optimize off
#endif

#define KS_GUARD 32
#if KS_OP == 1
#define KS_X (KS_BATCH * (KS_M * KS_K + KS_K * KS_N))
#define KS_Y (KS_BATCH * KS_M * KS_N)
#define KS_P 1
#elif KS_OP == 3
#define KS_X (KS_BATCH * (KS_M * KS_K + KS_K * KS_N + KS_N * KS_DV))
#define KS_Y (KS_BATCH * KS_M * KS_DV)
#define KS_P 512
static int8_t scratch[KS_BLOCK * (KS_N + (KS_K > KS_DV ? KS_K : KS_DV))], lut8[256];
#if KS_TOK /* a head starts d elements into each token's row */
#define KS_QST KS_K
#define KS_KST KS_K
#define KS_VST KS_DV
#define KS_KLD (KS_BATCH * KS_K)
#define KS_VLD (KS_BATCH * KS_DV)
#define KS_YST KS_DV
#else
#define KS_QST (KS_M * KS_K)
#define KS_KST (KS_K * KS_N)
#define KS_VST (KS_N * KS_DV)
#define KS_KLD 0
#define KS_VLD 0
#define KS_YST 0
#endif
#elif KS_OP == 4
#define KS_X KS_N
#define KS_Y KS_N
#define KS_P 256
static int8_t lut8[256];
#elif KS_OP == 5
#define KS_X (KS_ROWS * KS_COLS)
#define KS_Y KS_X
#define KS_P 256
#elif KS_OP == 6 || KS_OP == 7
#define KS_X (2 * KS_N)
#define KS_Y KS_N
#define KS_P 1
#elif KS_OP == 8
#define KS_X ((KS_ROWS + 1) * KS_N)
#define KS_Y (KS_ROWS * KS_N)
#define KS_P 1
#else
#define KS_X (KS_ROWS * KS_COLS)
#define KS_Y KS_X
#define KS_P (2 * KS_COLS)
#endif

_Static_assert(KH_IN_X_N == KS_X && KH_IN_P_N == KS_P && KH_OUT_FAST_N == KS_Y, "harness.py sizes");
static int8_t x[KS_X], y_fast[KS_Y + KS_GUARD], y_ref[KS_Y];
static int32_t params[KS_P];

int kh_run(void)
{
    for (int32_t i = 0; i < KS_X; ++i) x[i] = (int8_t)kh_in_x[i];
    memcpy(params, kh_in_p, sizeof params);
    for (int32_t i = 0; i < KS_Y + KS_GUARD; ++i) y_fast[i] = (int8_t)(0x5a ^ i);
#if KS_OP == 1
    const int32_t mult[1] = {KS_MULT}, shift[1] = {KS_SHIFT};
    const mf_matmul_s8_desc d = {.batch = KS_BATCH, .m = KS_M, .n = KS_N, .k = KS_K,
                                 .a_stride = KS_M * KS_K, .b_stride = KS_K * KS_N, .b_trans = KS_BT,
                                 .a_zp = KS_AZP, .b_zp = KS_BZP,
                                 .rq = {mult, shift, 0, KS_OZP, -128, 127}};
    const int8_t *a = x, *b = x + KS_BATCH * KS_M * KS_K;
    /* a is [batch][m][k], b [batch][k][n] or [batch][n][k]: strides as the desc says */
    const int st = mf_matmul_s8_ref(a, b, y_ref, &d);
    int st2;
    KH_MEASURE(st2 = KS_FAST(a, b, y_fast, &d));
#elif KS_OP == 3
    const int32_t mult[1] = {KS_MULT}, shift[1] = {KS_SHIFT}, vmult[1] = {KS_VMULT}, vshift[1] = {KS_VSHIFT};
    for (int32_t i = 0; i < 256; ++i) lut8[i] = (int8_t)params[i];
    const mf_attention_s8_desc d = {
        .block = KS_BLOCK,
        .qk = {.batch = KS_BATCH, .m = KS_M, .n = KS_N, .k = KS_K, .a_stride = KS_QST,
               .b_stride = KS_KST, .b_trans = KS_BT, .a_zp = KS_AZP, .b_zp = KS_BZP,
               .rq = {mult, shift, 0, KS_OZP, -128, 127}, .b_ld = KS_KLD},
        .sm = {.rows = KS_BLOCK, .cols = KS_N, .lut = params + 256, .out_mult = KS_SMMULT,
               .out_shift = KS_SMSHIFT, .out_zp = KS_SMOZP},
        .av = {.batch = KS_BATCH, .m = KS_M, .n = KS_DV, .k = KS_N, .a_stride = KS_M * KS_N,
               .b_stride = KS_VST, .b_trans = 0, .a_zp = KS_SMOZP, .b_zp = KS_VBZP,
               .rq = {vmult, vshift, 0, KS_VOZP, -128, 127}, .b_ld = KS_VLD},
        .q_ld = KS_KLD, .y_ld = KS_VLD, .y_stride = KS_YST};
    const int8_t *q = x, *k = x + KS_BATCH * KS_M * KS_K, *v = k + KS_BATCH * KS_K * KS_N;
    const int8_t *lut = KS_LUT ? lut8 : 0;
    const int st = mf_attention_s8_ref(q, k, v, lut, y_ref, &d, scratch);
    int st2;
    KH_MEASURE(st2 = KS_FAST(q, k, v, lut, y_fast, &d, scratch));
#elif KS_OP == 4
    for (int32_t i = 0; i < 256; ++i) lut8[i] = (int8_t)params[i];
    const int st = mf_lut_s8_ref(x, lut8, y_ref, KS_N);
    int st2;
    KH_MEASURE(st2 = KS_FAST(x, lut8, y_fast, KS_N));
#elif KS_OP == 5
    const mf_softmax_s8_desc d = {.rows = KS_ROWS, .cols = KS_COLS, .lut = params, .out_mult = KS_MULT,
                                  .out_shift = KS_SHIFT, .out_zp = KS_OZP};
    const int st = mf_softmax_s8_ref(x, y_ref, &d);
    int st2;
    KH_MEASURE(st2 = KS_FAST(x, y_fast, &d));
#elif KS_OP == 6
    const int32_t mult[1] = {KS_MULT}, shift[1] = {KS_SHIFT};
    const mf_mul_s8_desc d = {.n = KS_N, .a_zp = KS_AZP, .b_zp = KS_BZP,
                              .rq = {mult, shift, 0, KS_OZP, KS_LO, KS_HI}};
    const int st = mf_mul_s8_ref(x, x + KS_N, y_ref, &d);
    int st2;
    KH_MEASURE(st2 = KS_FAST(x, x + KS_N, y_fast, &d));
#elif KS_OP == 7 || KS_OP == 8
    const int32_t mult[1] = {KS_MULT}, shift[1] = {KS_SHIFT};
    const mf_add_s8_desc d = {.n = KS_N, .a_zp = KS_AZP, .b_zp = KS_BZP, .left_shift = KS_LS,
                              .a_mult = KS_AMULT, .a_shift = KS_ASHIFT, .b_mult = KS_BMULT, .b_shift = KS_BSHIFT,
                              .rq = {mult, shift, 0, KS_OZP, KS_LO, KS_HI}};
#if KS_OP == 7
    const int st = mf_add_s8_ref(x, x + KS_N, y_ref, &d);
    int st2;
    KH_MEASURE(st2 = KS_FAST(x, x + KS_N, y_fast, &d));
#else
    const int8_t *row = x + KS_ROWS * KS_N;
    const int st = mf_add_row_s8_ref(x, row, y_ref, KS_ROWS, &d);
    int st2;
    KH_MEASURE(st2 = KS_FAST(x, row, y_fast, KS_ROWS, &d));
#endif
#else
    const mf_layernorm_s8_desc d = {.rows = KS_ROWS, .cols = KS_COLS, .in_zp = KS_INZP, .out_zp = KS_OZP,
                                    .eps_q = KS_EPS, .g_shift = KS_GSHIFT};
    const int st = mf_layernorm_s8_ref(x, params, params + KS_COLS, y_ref, &d);
    int st2;
    KH_MEASURE(st2 = KS_FAST(x, params, params + KS_COLS, y_fast, &d));
#endif
    for (int32_t i = KS_Y; i < KS_Y + KS_GUARD; ++i)
        if (y_fast[i] != (int8_t)(0x5a ^ i)) return -101;
    for (int32_t i = 0; i < KS_Y; ++i) {
        kh_out_fast[i] = (float)y_fast[i];
        kh_out_ref[i] = (float)y_ref[i];
    }
    return st != 0 ? st : st2;
}
