/* Cost counter read around one inference by the device firmware, per core family
 * (mf_counter_<kind>.c). What it counts is reported with the value, never guessed by the
 * host:
 *   MF_COUNTER_CYCLES   core clock cycles (Cortex-M DWT CYCCNT; real silicon)
 *   MF_COUNTER_INSTRET  instructions retired (RISC-V minstret; exact under QEMU only with
 *                       -icount shift=0, which `mcuforge sim-device` passes)
 *   MF_COUNTER_NONE     nothing usable (QEMU models no DWT: CYCCNT reads 0) */
#ifndef MF_COUNTER_H
#define MF_COUNTER_H

#include <stdint.h>

#define MF_COUNTER_NONE    0u
#define MF_COUNTER_CYCLES  1u
#define MF_COUNTER_INSTRET 2u

void mf_counter_init(void);               /* enables the counter, probes that it counts */
uint8_t mf_counter_kind(void);            /* MF_COUNTER_*, valid after init */
uint64_t mf_counter_read(void);
/* stop - start, handling the counter's width (a 32-bit CYCCNT wraps) */
uint64_t mf_counter_elapsed(uint64_t start, uint64_t stop);

#endif /* MF_COUNTER_H */
