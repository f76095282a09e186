/* Text output helpers over the board UART. Hand-rolled rather than printf so the image pulls
 * nothing from libc but memcpy/memset/libm, and so output is byte-identical on every libc. */
#include "mf_board.h"

void mf_print_str(const char *s)
{
    while (*s != '\0') {
        if (*s == '\n') {
            mf_uart_putc('\r');   /* terminals want CRLF; the host parser strips '\r' */
        }
        mf_uart_putc(*s++);
    }
}

void mf_print_hex32(uint32_t v)
{
    static const char digits[] = "0123456789abcdef";
    for (int shift = 28; shift >= 0; shift -= 4) {
        mf_uart_putc(digits[(v >> shift) & 0xFu]);
    }
}

void mf_print_dec(int32_t v)
{
    char buf[12];
    int n = 0;
    /* work in unsigned so INT32_MIN does not overflow */
    uint32_t u = (v < 0) ? (0u - (uint32_t)v) : (uint32_t)v;
    if (v < 0) {
        mf_uart_putc('-');
    }
    do {
        buf[n++] = (char)('0' + (u % 10u));
        u /= 10u;
    } while (u != 0u);
    while (n > 0) {
        mf_uart_putc(buf[--n]);
    }
}
