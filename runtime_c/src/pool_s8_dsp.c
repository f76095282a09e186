/* int8 average pooling for Cortex-M4/M7 with the DSP extension (the contract of
 * mf_avgpool_s8_ref, mf_int8.h). The global pool that ends ResNet-8 and DS-CNN (one window
 * over the whole map, no padding) sums four int8 a word: SXTAB16 adds bytes 0 and 2, and
 * rotated 1 and 3, into two 16-bit halves each, ~1 instruction per input instead of ~17 in
 * the reference's window loop. The requantisation is the reference's (ties to even). Any
 * other window runs mf_avgpool_s8_ref. */
#include "mf_int8.h"

#if defined(__ARM_FEATURE_DSP)
#include <arm_acle.h>
#include <string.h>

/* Each 16-bit half gains at most 128 in magnitude per word: 255 words stay below 2^15. */
#define MF_POOL_WORDS_PER_FLUSH 255

static int32_t halves(uint32_t v)
{
    return (int32_t)(int16_t)(v & 0xFFFFu) + (int32_t)(int16_t)(v >> 16);
}

/* SXTAB16 with its built-in ROR #8 (GCC 12 has no __ror and would not fold one in) */
static inline uint32_t sxtab16_ror8(uint32_t acc, uint32_t v)
{
    uint32_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(acc), "r"(v));
    return r;
}

/* sum of n int8 values at x (any alignment: unaligned LDR is fine on v7E-M) */
static int32_t sum_s8(const int8_t *x, int32_t n)
{
    int32_t total = 0, i = 0;
    while (i + 4 <= n) {
        const int32_t stop = n - i < 4 * MF_POOL_WORDS_PER_FLUSH ? i + ((n - i) & ~3)
                                                                  : i + 4 * MF_POOL_WORDS_PER_FLUSH;
        uint32_t even = 0, odd = 0;
        for (; i < stop; i += 4) {
            uint32_t v;
            memcpy(&v, x + i, 4);
            even = __sxtab16(even, v);
            odd = sxtab16_ror8(odd, v);
        }
        total += halves(even) + halves(odd);
    }
    for (; i < n; ++i) total += x[i];
    return total;
}

int mf_avgpool_s8_dsp(const int8_t *x, int8_t *y, const mf_pool_s8_desc *d)
{
    if (!x || !y || !d || !d->rq.mult || !d->rq.shift) return MF_EARG;
    const int global = d->h_out == 1 && d->w_out == 1 && d->k_h == d->h_in && d->k_w == d->w_in &&
                       d->pad_top == 0 && d->pad_left == 0;
    if (!global) return mf_avgpool_s8_ref(x, y, d);
    const int32_t hw = d->h_in * d->w_in, zsum = hw * d->in_zp;
    const int32_t mult = d->rq.mult[0], shift = d->rq.shift[0];
    for (int32_t p = 0; p < d->n * d->c; ++p) {
        const int32_t acc = sum_s8(x + (size_t)p * hw, hw) - zsum;
        y[p] = mf_clamp_s8(d->rq.out_zp + mf_requant_even(acc, mult, shift), d->rq.act_min,
                           d->rq.act_max);
    }
    return MF_OK;
}
#endif
