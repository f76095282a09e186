/* Host "start-up": the C library already ran; nothing is painted, so the stack is not
 * measured (mf_stack_used returns -1). */
#include "mf_board.h"

void mf_crt_init(void)
{
}

int32_t mf_stack_used(void)
{
    return -1;
}
