/* Exit through Arm semihosting (QEMU: -semihosting-config enable=on,target=native).
 *
 * SYS_EXIT_EXTENDED (0x20) takes a pointer to {reason, code}; with reason
 * ADP_Stopped_ApplicationExit QEMU exits with `code` as its own exit status. Plain SYS_EXIT
 * (0x18) on 32-bit Arm cannot carry a status, hence the extended call. On a real board without
 * a debugger attached, bkpt would fault: fall back to spinning. */
#include "mf_board.h"

#define MF_SEMIHOST_SYS_EXIT_EXTENDED 0x20u
#define MF_SEMIHOST_APPLICATION_EXIT 0x20026u

void mf_board_exit(int status)
{
    volatile uint32_t block[2] = {MF_SEMIHOST_APPLICATION_EXIT, (uint32_t)status};
    register uint32_t r0 __asm__("r0") = MF_SEMIHOST_SYS_EXIT_EXTENDED;
    register volatile uint32_t *r1 __asm__("r1") = block;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    for (;;) {
    }
}
