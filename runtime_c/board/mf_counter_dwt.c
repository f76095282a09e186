/* Cortex-M cost counter: the DWT cycle counter (Armv7-M/v8-M with the DWT unit).
 *
 * QEMU does not model the DWT (CYCCNT reads as zero), and some cores (M0/M0+) have no
 * CYCCNT: init probes that the counter advances and reports MF_COUNTER_NONE otherwise,
 * so the host never shows a zero as a measurement. */
#include "mf_counter.h"

#define MF_DEMCR      (*(volatile uint32_t *)0xE000EDFCu)
#define MF_DWT_CTRL   (*(volatile uint32_t *)0xE0001000u)
#define MF_DWT_CYCCNT (*(volatile uint32_t *)0xE0001004u)
#define MF_DWT_LAR    (*(volatile uint32_t *)0xE0001FB0u)

#define MF_DEMCR_TRCENA    (1u << 24)
#define MF_DWT_CTRL_CYCCNT (1u << 0)
#define MF_DWT_LAR_KEY     0xC5ACCE55u   /* unlocks DWT writes on the M7 */

static uint8_t g_kind = MF_COUNTER_NONE;

void mf_counter_init(void)
{
    MF_DEMCR |= MF_DEMCR_TRCENA;
    MF_DWT_LAR = MF_DWT_LAR_KEY;
    MF_DWT_CYCCNT = 0u;
    MF_DWT_CTRL |= MF_DWT_CTRL_CYCCNT;
    uint32_t before = MF_DWT_CYCCNT;
    for (volatile int i = 0; i < 16; i++) {
    }
    g_kind = (MF_DWT_CYCCNT != before) ? (uint8_t)MF_COUNTER_CYCLES : (uint8_t)MF_COUNTER_NONE;
}

uint8_t mf_counter_kind(void)
{
    return g_kind;
}

uint64_t mf_counter_read(void)
{
    return MF_DWT_CYCCNT;
}

uint64_t mf_counter_elapsed(uint64_t start, uint64_t stop)
{
    /* 32-bit counter: modular difference, right for runs shorter than one wrap
     * (about 20 s at 216 MHz) */
    return (uint32_t)((uint32_t)stop - (uint32_t)start);
}
