/* C run-time initialisation shared by the bare-metal start-up files.
 *
 * The .data copy matters: on a real board RAM holds garbage at reset and .data's initial
 * values sit in flash at its load address (LMA). QEMU 7.2 also loads segments at their load
 * address, so a missing copy shows in simulation too (tests/test_sim_datacopy.py).
 *
 * The stack was painted by the start-up assembly before any C ran (so the measurement sees
 * every frame, the start-up's included); mf_stack_used() reads the high-water mark.
 *
 * The linker script (templates/board/linker.ld.j2) defines every symbol used here. */
#include "mf_board.h"
#include "mf_stack_paint.h"

extern uint32_t __data_load[];   /* LMA of .data, in flash */
extern uint32_t __data_start[];  /* VMA of .data, in RAM */
extern uint32_t __data_end[];
extern uint32_t __bss_start[];
extern uint32_t __bss_end[];
extern uint32_t __stack_limit[]; /* lowest address of the reserved stack */
extern uint32_t __stack_top[];   /* initial stack pointer */

void mf_crt_init(void)
{
    /* word loops: the linker script aligns these sections to 4 bytes */
    const uint32_t *src = __data_load;
#ifndef MF_CRT_TEST_SKIP_DATA_COPY /* test hook only: proves the .data test can fail */
    for (uint32_t *dst = __data_start; dst < __data_end; ++dst) {
        *dst = *src++;
    }
#else
    (void)src;
#endif
    for (uint32_t *p = __bss_start; p < __bss_end; ++p) {
        *p = 0u;
    }
}

int32_t mf_stack_used(void)
{
    const uint32_t *p = __stack_limit;
    while (p < __stack_top && *p == (uint32_t)MF_STACK_PAINT_WORD) {
        ++p;
    }
    return (int32_t)((uintptr_t)__stack_top - (uintptr_t)p);
}
