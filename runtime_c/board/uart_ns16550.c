/* NS16550-compatible UART with byte-spaced registers (QEMU virt @0x10000000, most RISC-V
 * SoCs). MF_UART_BASE comes from the board record. */
#include "mf_board.h"

#ifndef MF_UART_BASE
#error "MF_UART_BASE must be defined by the build (board uart.base)"
#endif

#define MF_16550_THR (*(volatile uint8_t *)(MF_UART_BASE + 0x0u))
#define MF_16550_LCR (*(volatile uint8_t *)(MF_UART_BASE + 0x3u))
#define MF_16550_LSR (*(volatile uint8_t *)(MF_UART_BASE + 0x5u))

#define MF_16550_LSR_THRE 0x20u
#define MF_16550_LCR_8N1  0x03u

void mf_uart_init(void)
{
    /* 8 data bits, no parity, 1 stop bit; the divisor is left as the boot ROM set it */
    MF_16550_LCR = MF_16550_LCR_8N1;
}

void mf_uart_putc(char c)
{
    while ((MF_16550_LSR & MF_16550_LSR_THRE) == 0u) {
    }
    MF_16550_THR = (uint8_t)c;
}
