/* mcuforge board harness: what the firmware main needs from a board.
 *
 * One implementation of each group is linked per board, chosen from the board record:
 *   UART       uart_<kind>.c      (MF_UART_BASE passed with -D)
 *   exit       exit_<method>.c    (MF_EXIT_BASE passed with -D where the method needs it)
 *   start-up   startup_<kind>.*   (copies .data, clears .bss, paints the stack, calls main)
 */
#ifndef MF_BOARD_H
#define MF_BOARD_H

#include <stdint.h>

/* UART: init once, then blocking byte output. */
void mf_uart_init(void);
void mf_uart_putc(char c);

/* Ends the program; the simulator's (or host's) exit status is `status`. */
void mf_board_exit(int status) __attribute__((noreturn));

/* Benchmark markers: the instruction-counting plugin counts what executes between entering
 * mf_bench_start and entering mf_bench_stop. Defined in their own file, never inlined. */
void mf_bench_start(void);
void mf_bench_stop(void);
/* Per-node profile marker (see mf_profile.h); the node index only helps a debugger. */
void mf_profile_node(int32_t index);

/* Text output over the UART (no printf: keeps the image small and libc-free). */
void mf_print_str(const char *s);
void mf_print_hex32(uint32_t v);    /* exactly 8 lowercase hex digits */
void mf_print_dec(int32_t v);

/* Start-up helpers shared by all bare-metal start-up files (mf_crt.c). */
void mf_crt_init(void);             /* .data copy, .bss clear (the stack is painted earlier) */
int32_t mf_stack_used(void);        /* deepest stack use so far in bytes; -1: not measured */

#endif /* MF_BOARD_H */
