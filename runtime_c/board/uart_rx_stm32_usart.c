/* Receive side of the STM32F2/F4 USART (SR/DR layout, see uart_stm32_usart.c). Reading SR
 * then DR also clears an overrun; the lost byte shows up as a bad CRC on the host. */
#include "mf_board.h"
#include "mf_uart_rx.h"

#ifndef MF_UART_BASE
#error "MF_UART_BASE must be defined by the build (board uart.base)"
#endif

#define MF_USART_SR (*(volatile uint32_t *)(MF_UART_BASE + 0x00u))
#define MF_USART_DR (*(volatile uint32_t *)(MF_UART_BASE + 0x04u))

#define MF_USART_SR_RXNE (1u << 5)

int mf_uart_getc(void)
{
    while ((MF_USART_SR & MF_USART_SR_RXNE) == 0u) {
    }
    return (int)(MF_USART_DR & 0xffu);
}
