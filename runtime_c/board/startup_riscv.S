/* RISC-V (RV32, M-mode, bare metal) start-up.
 *
 * Placed first in flash by the linker script (section .text.start), so it is both the ELF
 * entry and what a CPU that jumps to the flash origin after reset executes. */
#include "mf_stack_paint.h"

    .section .text.start, "ax"
    .globl _start
_start:
    /* gp must be set with relaxation off, or the assembler would "relax" this very load
     * into a gp-relative one */
    .option push
    .option norelax
    la      gp, __global_pointer$
    .option pop
    la      sp, __stack_top
    /* paint the whole stack before any C code pushes onto it (see mf_crt.c) */
    la      t0, __stack_limit
    li      t1, MF_STACK_PAINT_WORD
1:  bgeu    t0, sp, 2f
    sw      t1, 0(t0)
    addi    t0, t0, 4
    j       1b
2:
    /* Without a trap vector an illegal instruction (e.g. a vector op on a CPU without V)
     * jumps to address 0 and the simulator hangs silently until the host timeout. */
    la      t0, mf_trap_entry
    csrw    mtvec, t0
    /* mstatus.FS (bits 13-14) and mstatus.VS (bits 9-10) = Initial: FPU and vector on */
    li      t0, 0x6600
    csrs    mstatus, t0
    csrw    fcsr, zero
    call    mf_crt_init
    call    mf_uart_init
    call    main
    call    mf_board_exit
3:  j       3b

    /* mtvec requires 4-byte alignment (the low two bits select the mode) */
    .balign 4
mf_trap_entry:
    csrr    a0, mcause
    csrr    a1, mepc
    csrr    a2, mtval
    la      sp, __stack_top     /* the faulting stack may be the problem: start afresh */
    call    mf_trap_report
4:  j       4b
