/* int8 add over strided rows for Cortex-M4/M7 with the DSP extension (the contract of
 * mf_add_rows_s8_ref, mf_int8.h): ResNet-8's residual adds. Each input's term comes from its
 * compile-time table; the sum is requantised by one SMMLA whose accumulator holds the
 * rounding term with the output zero point folded in (exact when rs > 32: zp << (rs - 32)
 * added before the shift is zp after it), then ASR and SSAT, or the ReLU/Clip clamp: about
 * 9 instructions an element instead of ~21 in the reference's loop. Without tables, with a
 * larger scale or a large shift, the reference runs. */
#include "mf_int8_simd.h"

#if defined(__ARM_FEATURE_DSP)
#include <arm_acle.h>

static inline int32_t smmla(int32_t a, int32_t b, int32_t c)
{
    int32_t r;
    __asm__("smmla %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(c));
    return r;
}

/* clamp: 0 no clamp inside the int8 range (SSAT alone), 1 ReLU/Clip bounds */
static inline __attribute__((always_inline)) void rows(const int8_t *a, const int8_t *b, int8_t *y,
                                                       const mf_add_rows_s8_desc *d, int32_t mult,
                                                       int32_t hz, int32_t sh, int32_t lo,
                                                       int32_t hi, int clamp)
{
    const int32_t *at = d->a_term + 128, *bt = d->b_term + 128, n = d->add.n;
#if defined(__OPTIMIZE__) /* -O0: r7 is the frame pointer, too few registers */
    if (!clamp && n >= 2) {
        /* two elements a loop trip in assembly, the tables indexed by the signed bytes
         * directly (GCC 12 spends an SMLABB per table address): 10 instructions an element
         * instead of 13 */
        for (int32_t r = 0; r < d->rows; ++r, a += d->a_stride, b += d->b_stride, y += d->y_stride) {
            const int8_t *pa = a, *pb = b, *pe = a + (n & ~1);
            int8_t *py = y;
            int32_t t1, t2;
#define ADD1 \
    "ldrsb  %[t1], [%[pa]], #1\n\t" \
    "ldrsb  %[t2], [%[pb]], #1\n\t" \
    "ldr    %[t1], [%[at], %[t1], lsl #2]\n\t" \
    "ldr    %[t2], [%[bt], %[t2], lsl #2]\n\t" \
    "add    %[t1], %[t1], %[t2]\n\t" \
    "smmla  %[t1], %[t1], %[m], %[h]\n\t" \
    "asr    %[t1], %[t1], %[s]\n\t" \
    "ssat   %[t1], #8, %[t1]\n\t" \
    "strb   %[t1], [%[py]], #1\n\t"
            __asm__ volatile("1:\n\t" ADD1 ADD1 "cmp %[pa], %[pe]\n\t"
                             "bne 1b\n\t"
                             : [pa] "+r"(pa), [pb] "+r"(pb), [py] "+r"(py), [t1] "=&r"(t1), [t2] "=&r"(t2)
                             : [pe] "r"(pe), [at] "r"(at), [bt] "r"(bt), [m] "r"(mult), [h] "r"(hz),
                               [s] "r"(sh)
                             : "cc", "memory");
            if (n & 1) __asm__ volatile(ADD1 : [pa] "+r"(pa), [pb] "+r"(pb), [py] "+r"(py), [t1] "=&r"(t1),
                                              [t2] "=&r"(t2)
                                        : [at] "r"(at), [bt] "r"(bt), [m] "r"(mult), [h] "r"(hz), [s] "r"(sh)
                                        : "memory");
#undef ADD1
        }
        return;
    }
#endif
    for (int32_t r = 0; r < d->rows; ++r, a += d->a_stride, b += d->b_stride, y += d->y_stride)
        for (int32_t i = 0; i < n; ++i) {
            const int32_t v = smmla(at[a[i]] + bt[b[i]], mult, hz) >> sh;
            y[i] = clamp ? (int8_t)(v < lo ? lo : (v > hi ? hi : v)) : (int8_t)__ssat(v, 8);
        }
}

int mf_add_rows_s8_dsp(const int8_t *a, const int8_t *b, int8_t *y, const mf_add_rows_s8_desc *d)
{
    if (!a || !b || !y || !d || !d->add.rq.mult || !d->add.rq.shift) return MF_EARG;
    if (d->rows < 0 || d->add.n < 0 || d->a_stride < 0 || d->b_stride < 0 || d->y_stride < 0)
        return MF_ESHAPE;
    const mf_s8_rq_ch q = mf_s8_rq_prepare(&d->add.rq, 0);
    const int32_t sh = q.rs - 32;
    if (!d->a_term || !d->b_term || q.rs <= 32 || sh > 20) return mf_add_rows_s8_ref(a, b, y, d);
    const int32_t hz = (1 << (sh - 1)) + q.zp * (1 << sh);
    if (q.lo == -128 && q.hi == 127)
        rows(a, b, y, d, q.mult, hz, sh, q.lo, q.hi, 0);
    else
        rows(a, b, y, d, q.mult, hz, sh, q.lo, q.hi, 1);
    return MF_OK;
}
#endif
