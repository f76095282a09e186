/* Host exit: flush standard output and return the status to the shell. */
#include <stdio.h>
#include <stdlib.h>

#include "mf_board.h"

void mf_board_exit(int status)
{
    (void)fflush(stdout);
    exit(status);
}
