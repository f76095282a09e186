/* RISC-V trap report, called from startup_riscv.S with mcause, mepc and mtval. The harness
 * runs with interrupts off, so any trap is a bug: say where, then exit with a failure. */
#include "mf_board.h"

void mf_trap_report(uint32_t mcause, uint32_t mepc, uint32_t mtval) __attribute__((noreturn));

void mf_trap_report(uint32_t mcause, uint32_t mepc, uint32_t mtval)
{
    mf_print_str("\nMF_FAULT mcause=");
    mf_print_hex32(mcause);
    mf_print_str(" mepc=");
    mf_print_hex32(mepc);
    mf_print_str(" mtval=");
    mf_print_hex32(mtval);
    mf_print_str("\n");
    mf_board_exit(0x7F);
}
