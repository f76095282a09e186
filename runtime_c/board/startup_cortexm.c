/* Cortex-M start-up: vector table, reset handler, fault handler.
 *
 * Reset: paint the stack (before any C code pushes onto it), enable the FPU (and MVE, which
 * shares the CP10/CP11 enable) before code the compiler may have given floating-point
 * instructions runs, initialise .data/.bss, call main, and leave through mf_board_exit with
 * main's status. */
#include "mf_board.h"
#include "mf_stack_paint.h"

#define MF_STR2(x) #x
#define MF_STR(x) MF_STR2(x)

extern uint32_t __stack_top[];
extern uint32_t __stack_limit[];
int main(void);

void mf_reset_handler(void);
void mf_reset_c(void) __attribute__((noreturn));
void mf_fault_entry(void);
void mf_fault_report(const uint32_t *frame) __attribute__((noreturn));

#define MF_SCB_CPACR (*(volatile uint32_t *)0xE000ED88u)
#define MF_SCB_CFSR  (*(volatile uint32_t *)0xE000ED28u)

/* Why a fault handler prints: without it a bad access in a kernel hangs the simulator until
 * the host timeout, with no hint of where. Naked entry: read MSP before any prologue pushes
 * onto it, so `frame` is the hardware-stacked exception frame. */
__attribute__((naked)) void mf_fault_entry(void)
{
    __asm__ volatile("mrs r0, msp\n\tb mf_fault_report");
}

void mf_fault_report(const uint32_t *frame)
{
    mf_print_str("\nMF_FAULT cfsr=");
    mf_print_hex32(MF_SCB_CFSR);
    mf_print_str(" pc=");
    mf_print_hex32(frame[6]);   /* stacked PC of the exception frame */
    mf_print_str(" lr=");
    mf_print_hex32(frame[5]);
    mf_print_str("\n");
    mf_board_exit(0x7F);
}

/* Naked: at reset SP = __stack_top, and this paints [__stack_limit, SP) with the pattern
 * before anything is pushed, so the high-water mark covers every frame. */
__attribute__((naked)) void mf_reset_handler(void)
{
    __asm__ volatile(
        "ldr  r0, =__stack_limit\n\t"
        "mov  r1, sp\n\t"
        "ldr  r2, =" MF_STR(MF_STACK_PAINT_WORD) "\n"
        "1:\n\t"
        "cmp  r0, r1\n\t"
        "bhs  2f\n\t"
        "str  r2, [r0], #4\n\t"
        "b    1b\n"
        "2:\n\t"
        "b    mf_reset_c\n\t"
        ".ltorg");
}

void mf_reset_c(void)
{
    /* CP10 and CP11 full access: FPU on v7-M, FPU and MVE on v8.1-M */
    MF_SCB_CPACR |= 0xFu << 20;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
#if defined(__ARM_ARCH_8M_MAIN__) || defined(__ARM_ARCH_8_1M_MAIN__)
    /* v8-M checks the stack limit in hardware: an overflow faults instead of corrupting .bss */
    __asm__ volatile("msr msplim, %0" ::"r"(__stack_limit));
#endif
    mf_crt_init();
    mf_uart_init();
    mf_board_exit(main());
}

typedef void (*mf_vector_t)(void);

/* Only the system exceptions: the harness runs with interrupts off. Placed first in flash by
 * the linker script (KEEP(*(.vectors))). */
__attribute__((section(".vectors"), used)) const mf_vector_t mf_vector_table[16] = {
    (mf_vector_t)(uintptr_t)__stack_top, /* initial MSP */
    mf_reset_handler,
    mf_fault_entry, /* NMI */
    mf_fault_entry, /* HardFault */
    mf_fault_entry, /* MemManage */
    mf_fault_entry, /* BusFault */
    mf_fault_entry, /* UsageFault */
    mf_fault_entry, /* SecureFault (v8-M) */
    0, 0, 0,
    mf_fault_entry, /* SVCall */
    mf_fault_entry, /* DebugMonitor */
    0,
    mf_fault_entry, /* PendSV */
    mf_fault_entry, /* SysTick */
};
