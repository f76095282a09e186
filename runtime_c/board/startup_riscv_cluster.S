/* RISC-V (RV32, M-mode, bare metal) start-up for a cluster of harts (mf_cluster_riscv.c).
 *
 * Every hart enters here. Hart 0 does what startup_riscv.S does (gp, stack paint, trap
 * vector, FPU/vector on, .data/.bss), then releases the others (mf_cluster_boot) and runs
 * main. Any other hart must not touch memory before hart 0 has cleared .bss: it parks in
 * wfi with only the software interrupt enabled until its msip is raised, then takes the
 * stack ending at mf_cluster_stacks + hartid * MF_HART_STACK_BYTES and enters
 * mf_cluster_worker(hartid), which never returns. Harts beyond MF_HARTS are never released. */
#include "mf_stack_paint.h"

    .section .text.start, "ax"
    .globl _start
_start:
    .option push
    .option norelax
    la      gp, __global_pointer$
    .option pop
    la      t0, mf_trap_entry
    csrw    mtvec, t0
    /* mstatus.FS and mstatus.VS = Initial: FPU and vector on, on every hart */
    li      t0, 0x6600
    csrs    mstatus, t0
    csrw    fcsr, zero
    csrr    t0, mhartid
    bnez    t0, mf_worker_park

    la      sp, __stack_top
    /* paint hart 0's stack before any C code pushes onto it (see mf_crt.c) */
    la      t0, __stack_limit
    li      t1, MF_STACK_PAINT_WORD
1:  bgeu    t0, sp, 2f
    sw      t1, 0(t0)
    addi    t0, t0, 4
    j       1b
2:
    call    mf_crt_init
    call    mf_uart_init
    call    mf_cluster_boot
    call    main
    call    mf_board_exit
3:  j       3b

mf_worker_park:
    /* mie.MSIE only: a raised msip ends wfi; mstatus.MIE = 0 keeps it from trapping */
    li      t1, 8
    csrw    mie, t1
    li      t2, MF_HARTS
    bgeu    t0, t2, 5f
4:  wfi
    csrr    t1, mip
    andi    t1, t1, 8
    beqz    t1, 4b
    la      sp, mf_cluster_stacks
    li      t1, MF_HART_STACK_BYTES
    mul     t1, t1, t0
    add     sp, sp, t1
    mv      a0, t0
    call    mf_cluster_worker
5:  wfi
    j       5b

    .balign 4
mf_trap_entry:
    csrr    a0, mcause
    csrr    a1, mepc
    csrr    a2, mtval
    la      sp, __stack_top     /* the faulting stack may be the problem: start afresh */
    call    mf_trap_report
6:  j       6b
