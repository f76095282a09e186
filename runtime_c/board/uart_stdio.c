/* Host "UART": standard output, so the host board runs the same firmware main. */
#include <stdio.h>

#include "mf_board.h"

void mf_uart_init(void)
{
}

void mf_uart_putc(char c)
{
    (void)putchar(c);
}
