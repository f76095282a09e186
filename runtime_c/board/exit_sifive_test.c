/* Exit through the SiFive test device (QEMU virt @0x100000; MF_EXIT_BASE from the board).
 * 0x5555 = pass (QEMU exits 0); (code << 16) | 0x3333 = fail with exit status `code`. */
#include "mf_board.h"

#ifndef MF_EXIT_BASE
#error "MF_EXIT_BASE must be defined by the build (board exit.base)"
#endif

#define MF_SIFIVE_TEST (*(volatile uint32_t *)MF_EXIT_BASE)
#define MF_SIFIVE_TEST_PASS 0x5555u
#define MF_SIFIVE_TEST_FAIL 0x3333u

void mf_board_exit(int status)
{
    if (status == 0) {
        MF_SIFIVE_TEST = MF_SIFIVE_TEST_PASS;
    } else {
        /* 16 bits of code: negative statuses arrive as 0xFFxx; MF_DONE carries the exact one */
        MF_SIFIVE_TEST = (((uint32_t)status & 0xFFFFu) << 16) | MF_SIFIVE_TEST_FAIL;
    }
    for (;;) {
    }
}
