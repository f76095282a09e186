/* RISC-V cost counter: minstret, instructions retired (M-mode, 64 bits on RV32 read as
 * minstreth/minstret/minstreth so a carry between the halves is not missed).
 *
 * Instructions, not cycles: on QEMU that is the meaningful figure (and exact only under
 * -icount shift=0; without it QEMU returns host ticks); on silicon mcycle would give
 * cycles, a board field could select it later. */
#include "mf_counter.h"

void mf_counter_init(void)
{
}

uint8_t mf_counter_kind(void)
{
    return MF_COUNTER_INSTRET;
}

uint64_t mf_counter_read(void)
{
#if __riscv_xlen == 32
    uint32_t hi, lo, hi2;
    do {
        __asm__ volatile("csrr %0, minstreth" : "=r"(hi));
        __asm__ volatile("csrr %0, minstret" : "=r"(lo));
        __asm__ volatile("csrr %0, minstreth" : "=r"(hi2));
    } while (hi != hi2);
    return ((uint64_t)hi << 32) | lo;
#else
    uint64_t v;
    __asm__ volatile("csrr %0, minstret" : "=r"(v));
    return v;
#endif
}

uint64_t mf_counter_elapsed(uint64_t start, uint64_t stop)
{
    return stop - start;
}
