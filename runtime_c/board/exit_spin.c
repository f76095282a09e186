/* Exit on a free-running board: nothing to return to. The status was already printed
 * (MF_DONE <status>); park the core. */
#include "mf_board.h"

void mf_board_exit(int status)
{
    (void)status;
    for (;;) {
        __asm__ volatile("" ::: "memory"); /* keeps the loop from being optimised into UB */
    }
}
