/* int8 GEMM core for Cortex-M4/M7 with the DSP extension (SMLAD: two 16x16 MACs into one
 * 32-bit accumulator), shared by conv_s8_dsp.c, conv_overwrite_s8_dsp.c and fc_s8_dsp.c.
 *
 * B is an int16 panel prepared once per tile and reused by every output channel; each
 * weight row stays int8 and is widened on the fly, four at a time: one LDR and two SXTB16
 * give (w0, w2) and (w1, w3). The panel stores each group of four as (b0, b2, b1, b3) so
 * that the matching pairs come in order and no PKHBT is needed. Tile: 1 row x 6 columns:
 * per four k one LDR + two SXTB16 for the row, the six columns' twelve panel words in four
 * LDMs of three, and twelve SMLADs for 24 MACs (19 instructions, ~0.8 per MAC with the
 * loop). The tile is one row wide because 6 accumulators + 2 widened weights + 3 panel
 * words + 3 pointers fill the 14 registers; a 2x6 tile would spill, and LDRD pairs instead
 * of LDM triples cost two more loads per group.
 *
 * Each block of six sums is requantised as soon as the tile ends, while the sums are still
 * in registers: per output one SMMLA (the product's high word plus the rounding term),
 * one shift, the zero point and SSAT (mf_requant's exact rounding, see rq_out). */
#include "mf_int8_simd.h"

#if defined(__ARM_FEATURE_DSP)
#include <arm_acle.h>
#include <string.h>

/* The last partial group of four weights, zero-padded: reading 4 bytes there could run
 * past the end of the weights. */
static inline uint32_t tail_word(const int8_t *p, int32_t n)
{
    uint32_t v = 0;
    for (int32_t i = 0; i < n; ++i) v |= (uint32_t)(uint8_t)p[i] << (8 * i);
    return v;
}

static inline uint32_t ld32(const void *p)
{
    uint32_t v;
    memcpy(&v, p, 4); /* LDR: unaligned loads are fine on v7E-M */
    return v;
}

/* SXTB16 with its built-in ROR #8: GCC 12 does not fold a separate rotate into it. */
static inline uint32_t sxtb16_ror8(uint32_t v)
{
    uint32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return r;
}

/* floor(a * b / 2^32) + c: SMMLA (the rounding term rides in the accumulator) */
static inline int32_t smmla(int32_t a, int32_t b, int32_t c)
{
    int32_t r;
    __asm__("smmla %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(c));
    return r;
}

/* both panel words of a column in one LDRD (the panel is 8-byte aligned per group) */
#define MAC2(acc, pp) do { \
        const uint64_t pv = *(const uint64_t *)(pp); \
        acc = (int32_t)__smlad(wa, (uint32_t)pv, (uint32_t)acc); \
        acc = (int32_t)__smlad(wb, (uint32_t)(pv >> 32), (uint32_t)acc); \
    } while (0)

/* One group of four k for the 1 x 6 tile: LDR + 2 SXTB16 + 4 LDM + 12 SMLAD. The panel
 * words of a group are, per column, (b0, b2) then (b1, b3): LDM triples split columns, so
 * the SMLADs follow the words, not the columns. r8-r10 are named because an LDM list must
 * ascend. Written in assembly because GCC 12 -O2 (the M7 boards' compiler) neither forms
 * LDMs here nor keeps the loop bound in a register. */
#define GROUP6 \
    "ldr    %[wb], [%[wp]], #4\n\t" \
    "sxtb16 %[wa], %[wb]\n\t" \
    "sxtb16 %[wb], %[wb], ror #8\n\t" \
    "ldm    %[pp]!, {r8, r9, r10}\n\t" \
    "smlad  %[a0], %[wa], r8, %[a0]\n\t" \
    "smlad  %[a0], %[wb], r9, %[a0]\n\t" \
    "smlad  %[a1], %[wa], r10, %[a1]\n\t" \
    "ldm    %[pp]!, {r8, r9, r10}\n\t" \
    "smlad  %[a1], %[wb], r8, %[a1]\n\t" \
    "smlad  %[a2], %[wa], r9, %[a2]\n\t" \
    "smlad  %[a2], %[wb], r10, %[a2]\n\t" \
    "ldm    %[pp]!, {r8, r9, r10}\n\t" \
    "smlad  %[a3], %[wa], r8, %[a3]\n\t" \
    "smlad  %[a3], %[wb], r9, %[a3]\n\t" \
    "smlad  %[a4], %[wa], r10, %[a4]\n\t" \
    "ldm    %[pp]!, {r8, r9, r10}\n\t" \
    "smlad  %[a4], %[wb], r8, %[a4]\n\t" \
    "smlad  %[a5], %[wa], r9, %[a5]\n\t" \
    "smlad  %[a5], %[wb], r10, %[a5]\n\t"

#define TILE6_OUT \
    : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [a4] "+r"(a4), \
      [a5] "+r"(a5), [wp] "+r"(wr), [pp] "+r"(pp), [wa] "=&r"(wa), [wb] "=&r"(wb)
#define TILE6_CLOBBER : "r8", "r9", "r10", "memory"

/* 1 x 6 tile over the panel block at p (layout [k4 / 4][6][4]): four groups per loop trip
 * (the bound is the weight pointer), then two, then one. */
typedef struct {
    int32_t a0, a1, a2, a3, a4, a5;
} sums6;

/* exact (a constant at each call site): k is a multiple of 16, so the four-group loop is all
 * and the remainder tests compile away (DS-CNN's pointwise k = 64, ResNet-8's 3x3 k = 144,
 * 288, 576). */
static inline __attribute__((always_inline)) sums6 tile6(const int8_t *wr, int32_t kq, int32_t kt,
                                                         const int16_t *p, int32_t b, int exact)
{
    int32_t a0 = b, a1 = b, a2 = b, a3 = b, a4 = b, a5 = b;
    uint32_t wa, wb;
    const int16_t *pp = p;
#if defined(__OPTIMIZE__)
    if (exact || kq >= 4) {
        const int8_t *we = wr + 4 * (kq & ~3);
        __asm__ volatile("1:\n\t" GROUP6 GROUP6 GROUP6 GROUP6 "cmp %[wp], %[we]\n\t"
                         "bne 1b\n\t" TILE6_OUT : [we] "r"(we) : "cc", "r8", "r9", "r10", "memory");
    }
    if (!exact && (kq & 2)) __asm__ volatile(GROUP6 GROUP6 TILE6_OUT : TILE6_CLOBBER);
    if (!exact && (kq & 1)) __asm__ volatile(GROUP6 TILE6_OUT : TILE6_CLOBBER);
#else
    /* -O0 keeps r7 as the frame pointer: too few registers left for the assembly tile */
    (void)exact;
    for (int32_t g = 0; g < kq; ++g, wr += 4, pp += 24) {
        const uint32_t wv = ld32(wr);
        const uint32_t *q = (const uint32_t *)(const void *)pp;
        wa = __sxtb16(wv);
        wb = sxtb16_ror8(wv);
        a0 = (int32_t)__smlad(wb, q[1], __smlad(wa, q[0], (uint32_t)a0));
        a1 = (int32_t)__smlad(wb, q[3], __smlad(wa, q[2], (uint32_t)a1));
        a2 = (int32_t)__smlad(wb, q[5], __smlad(wa, q[4], (uint32_t)a2));
        a3 = (int32_t)__smlad(wb, q[7], __smlad(wa, q[6], (uint32_t)a3));
        a4 = (int32_t)__smlad(wb, q[9], __smlad(wa, q[8], (uint32_t)a4));
        a5 = (int32_t)__smlad(wb, q[11], __smlad(wa, q[10], (uint32_t)a5));
    }
#endif
    if (!exact && kt) {
        /* the last partial group: zero-padded weights, never a read past the row */
        const uint32_t wv = tail_word(wr, kt);
        wa = __sxtb16(wv);
        wb = sxtb16_ror8(wv);
        const uint32_t *q = (const uint32_t *)__builtin_assume_aligned(pp, 8);
        a0 = (int32_t)__smlad(wb, q[1], __smlad(wa, q[0], (uint32_t)a0));
        a1 = (int32_t)__smlad(wb, q[3], __smlad(wa, q[2], (uint32_t)a1));
        a2 = (int32_t)__smlad(wb, q[5], __smlad(wa, q[4], (uint32_t)a2));
        a3 = (int32_t)__smlad(wb, q[7], __smlad(wa, q[6], (uint32_t)a3));
        a4 = (int32_t)__smlad(wb, q[9], __smlad(wa, q[8], (uint32_t)a4));
        a5 = (int32_t)__smlad(wb, q[11], __smlad(wa, q[10], (uint32_t)a5));
    }
    const sums6 r = {a0, a1, a2, a3, a4, a5};
    return r;
}

static int32_t tile1(const int8_t *wr, int32_t kq, int32_t kt, const int16_t *p, int32_t b)
{
    int32_t a0 = b;
    const uint32_t *pp = (const uint32_t *)__builtin_assume_aligned(p, 8);
    for (int32_t g = 0; g < kq; ++g, wr += 4, pp += 2) {
        const uint32_t wv = ld32(wr);
        const uint32_t wa = __sxtb16(wv), wb = sxtb16_ror8(wv);
        MAC2(a0, pp);
    }
    if (kt) {
        const uint32_t wv = tail_word(wr, kt);
        const uint32_t wa = __sxtb16(wv), wb = sxtb16_ror8(wv);
        MAC2(a0, pp);
    }
    return a0;
}

/* One output channel's requantisation, decided once per channel: mode 0 the usual case
 * (rs > 32, a small shift, no activation clamp inside the int8 range, contiguous outputs:
 * SMMLA, ASR, SSAT, STRB per output), mode 1 the same with a ReLU/Clip clamp, mode 3 any
 * shift or output stride (the 64-bit product, as mf_requant). */
typedef struct {
    int32_t mult, half, sh, zp, lo, hi, mode;
    int64_t round;
    int32_t rs;
    int32_t half_zp; /* mode 0: half + (zp << sh), the zero point folded into the rounding */
} rq_t;

static inline rq_t rq_make(const mf_requant_s8 *rq, int32_t ch, int32_t cs)
{
    const int32_t i = rq->per_channel ? ch : 0, rs = 31 - rq->shift[i];
    rq_t q;
    q.mult = rq->mult[i];
    q.zp = rq->out_zp;
    q.lo = rq->act_min;
    q.hi = rq->act_max;
    q.rs = rs;
    q.sh = rs - 32;
    if (rs > 32 && q.sh <= 20 && cs == 1) {
        /* the usual case: only what SMMLA, ASR and the clamp need */
        q.half_zp = (1 << (q.sh - 1)) + q.zp * (1 << q.sh);
        q.half = 0;
        q.round = 0;
        q.mode = q.lo == -128 && q.hi == 127 ? 0 : 1;
        return q;
    }
    q.round = (int64_t)1 << (rs - 1);
    q.sh = rs > 32 ? rs - 32 : 0;
    q.half = rs > 32 ? 1 << (rs - 33) : 0;
    q.half_zp = 0;
    q.mode = 3;
    return q;
}

/* rs > 32: floor((p + 2^(rs-1)) / 2^rs) = (floor(p / 2^32) + 2^(rs-33)) >> (rs - 32), exact;
 * adding zp << (rs - 32) before the shift adds zp after it, exactly. */
static inline __attribute__((always_inline)) int8_t rq_out(int32_t acc, const rq_t *q, int mode)
{
    int32_t v;
    if (mode == 3)
        v = q->zp + (int32_t)((q->round + (int64_t)acc * q->mult) >> q->rs);
    else
        v = (smmla(acc, q->mult, q->half_zp) >> q->sh);
    return (int8_t)(v < q->lo ? q->lo : (v > q->hi ? q->hi : v));
}

#define RQ1(a) \
    "smmla %[" #a "], %[" #a "], %[m], %[h]\n\t" \
    "asr   %[" #a "], %[" #a "], %[s]\n\t" \
    "ssat  %[" #a "], #8, %[" #a "]\n\t" \
    "strb  %[" #a "], [%[y]], #1\n\t"

#define RQ1C(a) \
    "smmla %[" #a "], %[" #a "], %[m], %[h]\n\t" \
    "asr   %[" #a "], %[" #a "], %[s]\n\t" \
    "cmp   %[" #a "], %[lo]\n\t" \
    "it    lt\n\t" \
    "movlt %[" #a "], %[lo]\n\t" \
    "cmp   %[" #a "], %[hi]\n\t" \
    "it    gt\n\t" \
    "movgt %[" #a "], %[hi]\n\t" \
    "strb  %[" #a "], [%[y]], #1\n\t"

/* mode 1 (a ReLU/Clip clamp inside the int8 range), the same with the clamp */
static inline __attribute__((always_inline)) int8_t *store6_clamp(sums6 s, const rq_t *q, int8_t *y)
{
    __asm__ volatile(RQ1C(a0) RQ1C(a1) RQ1C(a2) RQ1C(a3) RQ1C(a4) RQ1C(a5)
                     : [a0] "+r"(s.a0), [a1] "+r"(s.a1), [a2] "+r"(s.a2), [a3] "+r"(s.a3),
                       [a4] "+r"(s.a4), [a5] "+r"(s.a5), [y] "+r"(y)
                     : [m] "r"(q->mult), [h] "r"(q->half_zp), [s] "r"(q->sh), [lo] "r"(q->lo),
                       [hi] "r"(q->hi)
                     : "cc", "memory");
    return y;
}

/* mode 0: six sums to six consecutive bytes, 4 instructions each (GCC 12 reloads the
 * constants from the stack for every output) */
static inline __attribute__((always_inline)) int8_t *store6(sums6 s, const rq_t *q, int8_t *y)
{
    __asm__ volatile(RQ1(a0) RQ1(a1) RQ1(a2) RQ1(a3) RQ1(a4) RQ1(a5)
                     : [a0] "+r"(s.a0), [a1] "+r"(s.a1), [a2] "+r"(s.a2), [a3] "+r"(s.a3),
                       [a4] "+r"(s.a4), [a5] "+r"(s.a5), [y] "+r"(y)
                     : [m] "r"(q->mult), [h] "r"(q->half_zp), [s] "r"(q->sh)
                     : "memory");
    return y;
}

/* One weight row over the panel's columns; mode is a constant at each call site, so each
 * case compiles to its own loop with no per-output branch. blocks6: panel columns laid out
 * in blocks of six (the last one padded: its extra columns are computed, never stored). */
static inline __attribute__((always_inline)) void row(const int8_t *wr, int32_t kq, int32_t kt,
                                                      int32_t k4, const int16_t *panel, int32_t cols,
                                                      int32_t blocks6, int32_t b, const rq_t *q,
                                                      int8_t *yr, int32_t cs, int mode, int exact)
{
    int32_t j = 0;
    const int32_t end6 = blocks6 ? cols : cols - cols % 6;
    for (; j + 6 <= end6; j += 6) {
        const sums6 s = tile6(wr, kq, kt, panel + j * k4, b, exact);
#if defined(__OPTIMIZE__) /* -O0: too few registers for the assembly (r7 is the frame pointer) */
        if (mode == 0) {
            yr = store6(s, q, yr);
            continue;
        }
        if (mode == 1) {
            yr = store6_clamp(s, q, yr);
            continue;
        }
#endif
        yr[0] = rq_out(s.a0, q, mode);
        yr[cs] = rq_out(s.a1, q, mode);
        yr[2 * cs] = rq_out(s.a2, q, mode);
        yr[3 * cs] = rq_out(s.a3, q, mode);
        yr[4 * cs] = rq_out(s.a4, q, mode);
        yr[5 * cs] = rq_out(s.a5, q, mode);
        yr += 6 * cs;
    }
    if (j < end6) { /* a padded last block */
        const sums6 s = tile6(wr, kq, kt, panel + j * k4, b, exact);
        const int32_t acc[6] = {s.a0, s.a1, s.a2, s.a3, s.a4, s.a5};
        for (int32_t i = 0; i < end6 - j; ++i) yr[i * cs] = rq_out(acc[i], q, mode);
        return;
    }
    for (; j < cols; ++j, yr += cs) yr[0] = rq_out(tile1(wr, kq, kt, panel + j * k4, b), q, mode);
}

/* The usual case as one assembly routine over every row and every full block of six columns
 * (k a multiple of 16, contiguous outputs, every channel's shift in SMMLA's range, no
 * activation clamp inside the int8 range): nothing spills, and the ~140 instructions GCC
 * spent per block around the tile (reloading constants, re-deriving pointers, the
 * remainder tests) become ~36: six MOVs from the bias, two LDRDs of the row's constants,
 * the 24 of the requantisation and the loop test. Each row's constants (bias, mult, the
 * rounding term with the zero point folded in, the shift) are derived once per row, in
 * the routine, and kept on its stack. The job is read and its row pointers advanced in
 * place. */
typedef struct {
    const int8_t *w;       /* 0: this row's weights (k bytes a row) */
    const int16_t *panel;  /* 4: the first block */
    const int16_t *pend;   /* 8: past the last full block */
    int8_t *y;             /* 12: this row's first output */
    int32_t k;             /* 16 */
    int32_t ys;            /* 20: output row stride */
    const int32_t *bias;   /* 24 */
    int32_t bstep;         /* 28: 4, or 0 for a zero bias */
    const int32_t *mult;   /* 32 */
    const int32_t *shift;  /* 36 */
    int32_t qstep;         /* 40: 4 per channel, 0 per tensor */
    int32_t zp;            /* 44 */
    int32_t rows;          /* 48 */
    int32_t kloop;         /* 52: weight bytes the k loop walks: k rounded up to 4 (or 16) */
} rows6_job;

#if defined(__GNUC__) && !defined(__clang__)
#define MF_NAKED __attribute__((naked, noinline))
#else
#define MF_NAKED __attribute__((naked))
#endif

/* A group's 24 MACs: the weight pair of 2 k-pairs in r6/r7 against six panel columns
 * (three LDMs of their k-pairs), into the six sums r0..r5. */
#define ROWS6_SMLAD \
    "ldm    r12!, {r8, r9, r10}\n\t" \
    "smlad  r0, r6, r8, r0\n\t" \
    "smlad  r0, r7, r9, r0\n\t" \
    "smlad  r1, r6, r10, r1\n\t" \
    "ldm    r12!, {r8, r9, r10}\n\t" \
    "smlad  r1, r7, r8, r1\n\t" \
    "smlad  r2, r6, r9, r2\n\t" \
    "smlad  r2, r7, r10, r2\n\t" \
    "ldm    r12!, {r8, r9, r10}\n\t" \
    "smlad  r3, r6, r8, r3\n\t" \
    "smlad  r3, r7, r9, r3\n\t" \
    "smlad  r4, r6, r10, r4\n\t" \
    "ldm    r12!, {r8, r9, r10}\n\t" \
    "smlad  r4, r7, r8, r4\n\t" \
    "smlad  r5, r6, r9, r5\n\t" \
    "smlad  r5, r7, r10, r5\n\t"
/* Stack slots of the routine (after its push): the row's bias, mult, rounding term,
 * shift, output pointer, weights and their end, the panel's end, the job, rows left. */
#define ROWS6_GROUP \
    "ldr    r7, [r11], #4\n\t" \
    "sxtb16 r6, r7\n\t" \
    "sxtb16 r7, r7, ror #8\n\t" \
    ROWS6_SMLAD
/* The same group with the weights widened at compile time (mf_conv2d_s8_desc w_dsp): one
 * LDRD for the pair of words, 17 instructions per 24 MACs. */
#define ROWS6_GROUP_W16 \
    "ldrd   r6, r7, [r11], #8\n\t" \
    ROWS6_SMLAD
#define ROWS6_RQ(a) \
    "smmla  " a ", " a ", r6, r7\n\t" \
    "asr    " a ", " a ", r8\n\t" \
    "ssat   " a ", #8, " a "\n\t" \
    "strb   " a ", [r9], #1\n\t"

#define ROWS6_FN(name, KLOOP) \
static MF_NAKED void name(rows6_job *job __attribute__((unused))) /* in r0 */ \
{ \
    __asm__ volatile( \
        "push   {r4, r5, r6, r7, r8, r9, r10, r11, lr}\n\t" \
        "sub    sp, sp, #40\n\t" \
        "str    r0, [sp, #32]\n\t" \
        "ldr    r1, [r0, #48]\n\t" \
        "str    r1, [sp, #36]\n\t" \
        /* a row: its constants into slots 0..12, its pointers into 16..28 */ \
        "2:\n\t" \
        "ldr    r0, [sp, #32]\n\t" \
        "ldm    r0, {r1, r2, r3, r4, r5, r6, r7, r8, r9, r10, r11, r12}\n\t" /* w, panel, pend, y, k, ys, bias, bstep, mult, shift, qstep, zp */ \
        "ldr    lr, [r0, #52]\n\t" \
        "add    lr, r1, lr\n\t" \
        "strd   r1, lr, [sp, #20]\n\t" /* the row's weights and their end */ \
        "str    r4, [sp, #16]\n\t" \
        "str    r3, [sp, #28]\n\t" \
        "add    r1, r1, r5\n\t" \
        "add    r4, r4, r6\n\t" \
        "ldr    r3, [r7]\n\t" \
        "add    r7, r7, r8\n\t" \
        "ldr    r5, [r9]\n\t" \
        "add    r9, r9, r11\n\t" \
        "ldr    r6, [r10]\n\t" \
        "add    r10, r10, r11\n\t" \
        "mvn    r6, r6\n\t" /* sh = rs - 32 = -1 - shift */ \
        "mov    r8, #1\n\t" \
        "lsl    r8, r8, r6\n\t" \
        "asr    r8, r8, #1\n\t" \
        "lsl    r12, r12, r6\n\t" \
        "add    r8, r8, r12\n\t" /* 2^(sh - 1) + (zp << sh) */ \
        "strd   r3, r5, [sp, #0]\n\t" \
        "strd   r8, r6, [sp, #8]\n\t" \
        "str    r1, [r0, #0]\n\t" /* the next row's pointers back into the job */ \
        "str    r4, [r0, #12]\n\t" \
        "str    r7, [r0, #24]\n\t" \
        "str    r9, [r0, #32]\n\t" \
        "str    r10, [r0, #36]\n\t" \
        "mov    r12, r2\n\t" \
        /* a block of six columns */ \
        "3:\n\t" \
        "ldr    r0, [sp, #0]\n\t" \
        "mov    r1, r0\n\t" \
        "mov    r2, r0\n\t" \
        "mov    r3, r0\n\t" \
        "mov    r4, r0\n\t" \
        "mov    r5, r0\n\t" \
        "ldrd   r11, lr, [sp, #20]\n\t" \
        "1:\n\t" \
        KLOOP \
        "cmp    r11, lr\n\t" \
        "bne    1b\n\t" \
        "ldrd   r6, r7, [sp, #4]\n\t"    /* mult, rounding term */ \
        "ldrd   r8, r9, [sp, #12]\n\t"   /* shift, output */ \
        ROWS6_RQ("r0") ROWS6_RQ("r1") ROWS6_RQ("r2") ROWS6_RQ("r3") ROWS6_RQ("r4") ROWS6_RQ("r5") \
        "str    r9, [sp, #16]\n\t" \
        "ldr    r10, [sp, #28]\n\t" \
        "cmp    r12, r10\n\t" \
        "bne    3b\n\t" \
        "ldr    r1, [sp, #36]\n\t" \
        "subs   r1, r1, #1\n\t" \
        "str    r1, [sp, #36]\n\t" \
        "bne    2b\n\t" \
        "add    sp, sp, #40\n\t" \
        "pop    {r4, r5, r6, r7, r8, r9, r10, r11, pc}\n\t"); \
}

/* k a multiple of 16: four groups per loop trip; otherwise one (a first layer's k = 27: the
 * last group's weight word runs into the next row, whose bytes meet the panel's zero
 * padding: every panel filler zero-pads k to k4) */
ROWS6_FN(rows6_q0, ROWS6_GROUP ROWS6_GROUP ROWS6_GROUP ROWS6_GROUP)
ROWS6_FN(rows6_q0_g1, ROWS6_GROUP)
/* widened weights: 2 k4 bytes a row, zero-padded, so every row (the last too) runs here */
ROWS6_FN(rows6_w16, ROWS6_GROUP_W16 ROWS6_GROUP_W16 ROWS6_GROUP_W16 ROWS6_GROUP_W16)
ROWS6_FN(rows6_w16_g1, ROWS6_GROUP_W16)

int32_t mf_s8_rq_plain_dsp(const mf_requant_s8 *rq, int32_t ch0, int32_t rows)
{
    if (rq->act_min != -128 || rq->act_max != 127) return 0;
    for (int32_t r = 0; r < (rq->per_channel ? rows : 1); ++r) {
        const int32_t s = rq->shift[rq->per_channel ? ch0 + r : 0];
        if (s >= -1 || s < -21) return 0; /* rs = 31 - shift in 33..52: rq_make's mode 0 */
    }
    return 1;
}

void mf_gemm_s8_dsp(const int8_t *w, int32_t k, int32_t rows, const int16_t *panel,
                    int32_t cols, int32_t blocks6, const int32_t *bias, int8_t *y, int32_t rs,
                    int32_t cs, const mf_requant_s8 *rq, int32_t ch0, const int32_t *wq,
                    int32_t plain)
{
    const int32_t kq = k >> 2, kt = k & 3, k4 = mf_s8_k4(k);
    const int exact = kt == 0 && kq >= 4 && (kq & 3) == 0;
    /* rows [0, nasm) have their full blocks of six done by the assembly routine */
    int32_t nasm = 0, full = 0;
    if (cs == 1 && cols >= 6 && rows >= 1 && kq >= 1 && plain) {
        /* with a k tail the last row's last word would read past w: that row stays in C */
        nasm = kt && !wq ? rows - 1 : rows;
        if (nasm > 0) {
            const int32_t zero = 0, qi = rq->per_channel ? ch0 : 0;
            full = cols - cols % 6;
            rows6_job job = {w, panel, panel + full * k4, y, k, rs, bias ? bias : &zero, bias ? 4 : 0,
                             rq->mult + qi, rq->shift + qi, rq->per_channel ? 4 : 0, rq->out_zp, nasm, k4};
            if (wq) {
                job.w = (const int8_t *)(const void *)wq;
                job.k = job.kloop = 2 * k4;
            }
            const int four = k4 % 16 == 0;
            if (wq && four)
                rows6_w16(&job);
            else if (wq)
                rows6_w16_g1(&job);
            else if (exact)
                rows6_q0(&job);
            else
                rows6_q0_g1(&job);
        }
    }
    for (int32_t r = full == cols ? nasm : 0; r < rows; ++r) {
        const int32_t j0 = r < nasm ? full : 0;
        const int8_t *wr = w + r * k;
        const int32_t b = bias ? bias[r] : 0;
        const rq_t q = rq_make(rq, ch0 + r, cs);
        int8_t *yr = y + r * rs + j0 * cs;
        const int16_t *pr = panel + j0 * k4;
        const int32_t cr = cols - j0;
        if (q.mode == 0 && exact)
            row(wr, kq, kt, k4, pr, cr, blocks6, b, &q, yr, cs, 0, 1);
        else if (q.mode == 0)
            row(wr, kq, kt, k4, pr, cr, blocks6, b, &q, yr, cs, 0, 0);
        else if (q.mode == 1)
            row(wr, kq, kt, k4, pr, cr, blocks6, b, &q, yr, cs, 1, 0);
        else
            row(wr, kq, kt, k4, pr, cr, blocks6, b, &q, yr, cs, 3, 0);
    }
}
#endif
