/* Arm CMSDK APB UART (MPS2/MPS3 FPGA images in QEMU). MF_UART_BASE comes from the board
 * record (uart.base) as a -D flag. */
#include "mf_board.h"

#ifndef MF_UART_BASE
#error "MF_UART_BASE must be defined by the build (board uart.base)"
#endif

#define MF_CMSDK_DATA    (*(volatile uint32_t *)(MF_UART_BASE + 0x00u))
#define MF_CMSDK_STATE   (*(volatile uint32_t *)(MF_UART_BASE + 0x04u))
#define MF_CMSDK_CTRL    (*(volatile uint32_t *)(MF_UART_BASE + 0x08u))
#define MF_CMSDK_BAUDDIV (*(volatile uint32_t *)(MF_UART_BASE + 0x10u))

#define MF_CMSDK_STATE_TX_FULL 0x1u
#define MF_CMSDK_CTRL_TX_EN    0x1u
#define MF_CMSDK_CTRL_RX_EN    0x2u

void mf_uart_init(void)
{
    /* 16 is the smallest divider the UART accepts; QEMU ignores the baud rate, and on the
     * FPGA board the host side is a USB bridge that follows it */
    MF_CMSDK_BAUDDIV = 16u;
    MF_CMSDK_CTRL = MF_CMSDK_CTRL_TX_EN | MF_CMSDK_CTRL_RX_EN;
}

void mf_uart_putc(char c)
{
    while ((MF_CMSDK_STATE & MF_CMSDK_STATE_TX_FULL) != 0u) {
    }
    MF_CMSDK_DATA = (uint32_t)(uint8_t)c;
}
