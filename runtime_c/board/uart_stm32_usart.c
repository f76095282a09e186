/* STM32F2/F4/F7-family USART (F4 register layout: SR/DR/BRR/CR1), e.g. USART1 on the
 * STM32F405 of QEMU's netduinoplus2. MF_UART_BASE comes from the board record.
 *
 * What this does not do: enable the peripheral clock in RCC or mux the TX pin to the USART
 * (GPIO alternate function). QEMU needs neither; on silicon both are board-specific and
 * belong to the device layer's init. MF_UART_BRR (optional) sets the baud divider. */
#include "mf_board.h"

#ifndef MF_UART_BASE
#error "MF_UART_BASE must be defined by the build (board uart.base)"
#endif

#define MF_USART_SR  (*(volatile uint32_t *)(MF_UART_BASE + 0x00u))
#define MF_USART_DR  (*(volatile uint32_t *)(MF_UART_BASE + 0x04u))
#define MF_USART_BRR (*(volatile uint32_t *)(MF_UART_BASE + 0x08u))
#define MF_USART_CR1 (*(volatile uint32_t *)(MF_UART_BASE + 0x0Cu))

#define MF_USART_SR_TXE  (1u << 7)
#define MF_USART_CR1_UE  (1u << 13)
#define MF_USART_CR1_TE  (1u << 3)
#define MF_USART_CR1_RE  (1u << 2)

void mf_uart_init(void)
{
#ifdef MF_UART_BRR
    MF_USART_BRR = MF_UART_BRR;
#endif
    MF_USART_CR1 = MF_USART_CR1_UE | MF_USART_CR1_TE | MF_USART_CR1_RE;
}

void mf_uart_putc(char c)
{
    while ((MF_USART_SR & MF_USART_SR_TXE) == 0u) {
    }
    MF_USART_DR = (uint32_t)(uint8_t)c;
}
