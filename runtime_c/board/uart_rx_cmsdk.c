/* Receive side of the Arm CMSDK APB UART (see uart_cmsdk.c, which enables RX). */
#include "mf_board.h"
#include "mf_uart_rx.h"

#ifndef MF_UART_BASE
#error "MF_UART_BASE must be defined by the build (board uart.base)"
#endif

#define MF_CMSDK_DATA  (*(volatile uint32_t *)(MF_UART_BASE + 0x00u))
#define MF_CMSDK_STATE (*(volatile uint32_t *)(MF_UART_BASE + 0x04u))

#define MF_CMSDK_STATE_RX_FULL    0x2u
#define MF_CMSDK_STATE_RX_OVERRUN 0x8u

int mf_uart_getc(void)
{
    while ((MF_CMSDK_STATE & MF_CMSDK_STATE_RX_FULL) == 0u) {
    }
    int c = (int)(MF_CMSDK_DATA & 0xffu);
    /* write-one-to-clear; a lost byte shows up as a bad CRC, which the host retries */
    MF_CMSDK_STATE = MF_CMSDK_STATE_RX_OVERRUN;
    return c;
}
