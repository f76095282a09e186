/* Receive side of the NS16550 UART (see uart_ns16550.c). */
#include "mf_board.h"
#include "mf_uart_rx.h"

#ifndef MF_UART_BASE
#error "MF_UART_BASE must be defined by the build (board uart.base)"
#endif

#define MF_16550_RBR (*(volatile uint8_t *)(MF_UART_BASE + 0x0u))
#define MF_16550_LSR (*(volatile uint8_t *)(MF_UART_BASE + 0x5u))

#define MF_16550_LSR_DR 0x01u

int mf_uart_getc(void)
{
    while ((MF_16550_LSR & MF_16550_LSR_DR) == 0u) {
    }
    return (int)MF_16550_RBR;
}
