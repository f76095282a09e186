/* STM32F7/L4/H7-family USART (ISR/TDR register layout), e.g. USART1 on the STM32F746.
 * MF_UART_BASE comes from the board record. As in uart_stm32_usart.c, the RCC clock enable
 * and the TX pin's alternate function are the device layer's job; MF_UART_BRR (optional)
 * sets the baud divider. */
#include "mf_board.h"

#ifndef MF_UART_BASE
#error "MF_UART_BASE must be defined by the build (board uart.base)"
#endif

#define MF_USART_CR1 (*(volatile uint32_t *)(MF_UART_BASE + 0x00u))
#define MF_USART_BRR (*(volatile uint32_t *)(MF_UART_BASE + 0x0Cu))
#define MF_USART_ISR (*(volatile uint32_t *)(MF_UART_BASE + 0x1Cu))
#define MF_USART_TDR (*(volatile uint32_t *)(MF_UART_BASE + 0x28u))

#define MF_USART_ISR_TXE (1u << 7)
#define MF_USART_CR1_UE  (1u << 0)
#define MF_USART_CR1_RE  (1u << 2)
#define MF_USART_CR1_TE  (1u << 3)

void mf_uart_init(void)
{
#ifdef MF_UART_BRR
    MF_USART_BRR = MF_UART_BRR;
#endif
    MF_USART_CR1 = MF_USART_CR1_UE | MF_USART_CR1_TE | MF_USART_CR1_RE;
}

void mf_uart_putc(char c)
{
    while ((MF_USART_ISR & MF_USART_ISR_TXE) == 0u) {
    }
    MF_USART_TDR = (uint32_t)(uint8_t)c;
}
