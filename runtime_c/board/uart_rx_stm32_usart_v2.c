/* Receive side of the STM32F7/L4/H7 USART (ISR/RDR layout, see uart_stm32_usart_v2.c).
 * An overrun (ORE) must be cleared through ICR or reception stops on these parts. */
#include "mf_board.h"
#include "mf_uart_rx.h"

#ifndef MF_UART_BASE
#error "MF_UART_BASE must be defined by the build (board uart.base)"
#endif

#define MF_USART_ISR (*(volatile uint32_t *)(MF_UART_BASE + 0x1Cu))
#define MF_USART_ICR (*(volatile uint32_t *)(MF_UART_BASE + 0x20u))
#define MF_USART_RDR (*(volatile uint32_t *)(MF_UART_BASE + 0x24u))

#define MF_USART_ISR_RXNE (1u << 5)
#define MF_USART_ISR_ORE  (1u << 3)

int mf_uart_getc(void)
{
    for (;;) {
        uint32_t isr = MF_USART_ISR;
        if ((isr & MF_USART_ISR_ORE) != 0u) {
            MF_USART_ICR = MF_USART_ISR_ORE;
        }
        if ((isr & MF_USART_ISR_RXNE) != 0u) {
            return (int)(MF_USART_RDR & 0xffu);
        }
    }
}
