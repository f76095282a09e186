/* Host "UART" receive: standard input. Output is flushed before waiting, since the host
 * on the other end of the pipe waits for the response. End of input ends the program. */
#include <stdio.h>

#include "mf_board.h"
#include "mf_uart_rx.h"

int mf_uart_getc(void)
{
    (void)fflush(stdout);
    int c = getchar();
    if (c == EOF) {
        mf_board_exit(0);
    }
    return c;
}
