/* UART receive for the device protocol: one blocking read per byte. Kept apart from
 * mf_board.h so the run-once firmware (main.c.j2) links no receive code. Implemented per
 * UART kind in uart_rx_<kind>.c, chosen from the board record like the transmit side. */
#ifndef MF_UART_RX_H
#define MF_UART_RX_H

#include <stdint.h>

/* Next received byte (0..255); waits for it. */
int mf_uart_getc(void);

#endif /* MF_UART_RX_H */
