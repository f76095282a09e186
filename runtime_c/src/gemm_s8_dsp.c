/* int8 GEMM core for Cortex-M4/M7 with the DSP extension (SMLAD: two 16x16 MACs into one
 * 32-bit accumulator), shared by conv_s8_dsp.c and fc_s8_dsp.c.
 *
 * B is an int16 panel prepared once per tile and reused by every output channel; each
 * weight row stays int8 and is widened on the fly, four at a time: one LDR and two SXTB16
 * give (w0, w2) and (w1, w3). The panel stores each group of four as (b0, b2, b1, b3) so
 * that LDRD then yields the matching pairs and no PKHBT is needed. Tile: 1 row x 6 columns,
 * i.e. per four k one LDR + two SXTB16 for the row, one LDRD per column and twelve SMLADs
 * for 24 MACs (~0.9 instructions per MAC with the loop). The tile is one row wide because
 * 6 accumulators + 2 widened weights + 2 panel words + 3 pointers fill the 14 registers;
 * a 2x6 tile would spill. Columns past the last full block of 6 run one at a time. */
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

/* both panel words of a column in one LDRD (the panel is 8-byte aligned per group) */
#define MAC2(acc, pp) do { \
        const uint64_t pv = *(const uint64_t *)(pp); \
        acc = (int32_t)__smlad(wa, (uint32_t)pv, (uint32_t)acc); \
        acc = (int32_t)__smlad(wb, (uint32_t)(pv >> 32), (uint32_t)acc); \
    } while (0)

/* One group of four k for the 1 x 6 tile: LDR + 2 SXTB16 + 6 LDRD + 12 SMLAD. Written in
 * assembly because GCC 12 -O2 (the M7 boards' compiler) splits the LDRDs and spills the
 * loop bound, which costs a third more instructions per MAC. */
#define GROUP6 \
    "ldr    %[wb], [%[wp]], #4\n\t" \
    "sxtb16 %[wa], %[wb]\n\t" \
    "sxtb16 %[wb], %[wb], ror #8\n\t" \
    "ldrd   %[p0], %[p1], [%[pp]]\n\t" \
    "smlad  %[a0], %[wa], %[p0], %[a0]\n\t" \
    "smlad  %[a0], %[wb], %[p1], %[a0]\n\t" \
    "ldrd   %[p0], %[p1], [%[pp], #8]\n\t" \
    "smlad  %[a1], %[wa], %[p0], %[a1]\n\t" \
    "smlad  %[a1], %[wb], %[p1], %[a1]\n\t" \
    "ldrd   %[p0], %[p1], [%[pp], #16]\n\t" \
    "smlad  %[a2], %[wa], %[p0], %[a2]\n\t" \
    "smlad  %[a2], %[wb], %[p1], %[a2]\n\t" \
    "ldrd   %[p0], %[p1], [%[pp], #24]\n\t" \
    "smlad  %[a3], %[wa], %[p0], %[a3]\n\t" \
    "smlad  %[a3], %[wb], %[p1], %[a3]\n\t" \
    "ldrd   %[p0], %[p1], [%[pp], #32]\n\t" \
    "smlad  %[a4], %[wa], %[p0], %[a4]\n\t" \
    "smlad  %[a4], %[wb], %[p1], %[a4]\n\t" \
    "ldrd   %[p0], %[p1], [%[pp], #40]\n\t" \
    "add    %[pp], %[pp], #48\n\t" \
    "smlad  %[a5], %[wa], %[p0], %[a5]\n\t" \
    "smlad  %[a5], %[wb], %[p1], %[a5]\n\t"

#define TILE6_OPERANDS \
    : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [a4] "+r"(a4), \
      [a5] "+r"(a5), [wp] "+r"(wr), [pp] "+r"(pp), [wa] "=&r"(wa), [wb] "=&r"(wb), \
      [p0] "=&r"(p0), [p1] "=&r"(p1)

/* 1 x 6 tile over the panel block at p (layout [k4 / 4][6][4]); two groups per loop trip. */
static void tile6(const int8_t *wr, int32_t kq, int32_t kt, const int16_t *p, int32_t b,
                  int32_t acc[6])
{
    int32_t a0 = b, a1 = b, a2 = b, a3 = b, a4 = b, a5 = b;
    uint32_t wa, wb, p0, p1;
    const int16_t *pp = p;
    if (kq >= 2) {
        const int8_t *we = wr + 4 * (kq & ~1);
        __asm__ volatile("1:\n\t" GROUP6 GROUP6 "cmp %[wp], %[we]\n\t"
                         "bne 1b\n\t" TILE6_OPERANDS : [we] "r"(we) : "cc", "memory");
    }
    if (kq & 1) __asm__ volatile(GROUP6 TILE6_OPERANDS : : "memory");
    if (kt) {
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
    acc[0] = a0; acc[1] = a1; acc[2] = a2; acc[3] = a3; acc[4] = a4; acc[5] = a5;
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

void mf_gemm_s8_dsp(const int8_t *w, int32_t k, int32_t rows, const int16_t *panel,
                    int32_t cols, const int32_t *bias, int8_t *y, int32_t rs, int32_t cs,
                    const mf_requant_s8 *rq, int32_t ch0)
{
    const int32_t kq = k >> 2, kt = k & 3, k4 = mf_s8_k4(k), full = cols - cols % 6;
    for (int32_t r = 0; r < rows; ++r) {
        const int8_t *wr = w + r * k;
        const int32_t b = bias ? bias[r] : 0;
        const mf_s8_rq_ch q = mf_s8_rq_prepare(rq, ch0 + r);
        int8_t *yr = y + r * rs;
        int32_t j = 0, acc[MF_S8_GEMM_COLS_DSP];
        /* sums for the panel's columns, then one requantisation call per channel */
        for (; j < full; j += 6) tile6(wr, kq, kt, panel + j * k4, b, acc + j);
        for (; j < cols; ++j) acc[j] = tile1(wr, kq, kt, panel + j * k4, b);
        mf_s8_rq_rows(acc, 1, cols, 0, yr, 0, cs, &q);
    }
}
#endif
