/* Fork/join over the harts of a RISC-V cluster (mf_cluster.h), bare metal, M-mode.
 *
 * Start-up (startup_riscv_cluster.S): hart 0 sets up the C run time and calls
 * mf_cluster_boot; every other hart parks in wfi until that boot call wakes it, takes its
 * own stack from mf_cluster_stacks and enters mf_cluster_worker, where it waits for forks.
 *
 * Waiting: a waiting hart sleeps in wfi with only the machine software interrupt enabled in
 * mie (mstatus.MIE stays 0, so a pending interrupt ends the wfi without trapping). A fork
 * raises each worker's CLINT msip; the last worker to finish raises hart 0's. Each waiter
 * clears its own msip *before* it re-reads the condition, so a wake-up that races with the
 * check is never lost. The join count is an A-extension atomic add (amoadd.w.aqrl).
 *
 * Every function here that waits or synchronises is in .text.mf_wait: the counting plugin
 * counts those instructions apart from work, so spinning never inflates the span. The only
 * work this file adds to a region is the jump into fn and back.
 *
 * Build flags: MF_HARTS (harts a fork uses), MF_HART_STACK_BYTES (stack per worker hart),
 * MF_CLINT_BASE (the board's [cluster] ipi_base), MF_CLUSTER_DELAY_SEED (optional: each hart
 * spins a pseudo-random delay, seeded by it, before its share of every fork: the determinism
 * test's way of shuffling the order in which harts run). */
#include <stdint.h>

#include "../include/mf_cluster.h" /* the harness is compiled in place: its own dir, not the model's */

#ifndef MF_CLINT_BASE
#error "MF_CLINT_BASE must be set (the board's [cluster] ipi_base)"
#endif
#ifndef MF_HART_STACK_BYTES
#error "MF_HART_STACK_BYTES must be set (the board's stack size)"
#endif

#define MF_WAIT_CODE __attribute__((section(".text.mf_wait"), noinline))
#define MF_MSIP(h) (((volatile uint32_t *)(uintptr_t)MF_CLINT_BASE)[(h)])

/* Worker h (1..MF_HARTS-1) has the stack ending at mf_cluster_stacks + h * MF_HART_STACK_BYTES
 * (the start-up code computes it). In .bss: hart 0 clears it before any worker starts. */
uint8_t mf_cluster_stacks[(MF_HARTS > 1 ? MF_HARTS - 1 : 1) * MF_HART_STACK_BYTES]
    __attribute__((aligned(16)));

static mf_team_fn volatile g_fn;
static void *volatile g_arg;
static volatile uint32_t g_generation; /* bumped by each fork */
static volatile uint32_t g_done;       /* workers finished with the current fork */
static volatile uint32_t g_ready;      /* workers that reached mf_cluster_worker */
volatile uint32_t mf_cluster_phase;    /* written by the region markers (a debugger sees it) */

static inline void fence_rw(void)
{
    __asm__ volatile("fence rw, rw" ::: "memory");
}

static inline void sleep_until_woken(void)
{
    __asm__ volatile("wfi" ::: "memory");
}

#ifdef MF_CLUSTER_DELAY_SEED
/* A delay of 0..4095 loop turns, a hash of (seed, hart, fork): different per hart and fork. */
static inline void start_delay(int32_t hart, uint32_t generation)
{
    uint32_t x = (uint32_t)(MF_CLUSTER_DELAY_SEED) * 2654435761u ^ (uint32_t)hart * 40503u ^
                 generation * 2246822519u;
    x ^= x >> 15;
    x *= 0x2c1b3c6du;
    x ^= x >> 12;
    for (volatile uint32_t i = x & 4095u; i != 0u; --i) {
    }
}
#else
static inline void start_delay(int32_t hart, uint32_t generation)
{
    (void)hart;
    (void)generation;
}
#endif

int32_t mf_cluster_harts(void)
{
    return MF_HARTS;
}

__attribute__((noinline)) void mf_cluster_region_begin(void)
{
    mf_cluster_phase = 1u;
}

__attribute__((noinline)) void mf_cluster_region_end(void)
{
    mf_cluster_phase = 2u;
}

/* Hart 0, after .data/.bss set-up: release the parked workers, wait until all are in their
 * loop (so none is still starting when the benchmark window opens). */
MF_WAIT_CODE void mf_cluster_boot(void)
{
    /* hart 0 sleeps in the join too: the last worker's msip must end its wfi */
    __asm__ volatile("csrs mie, %0" ::"r"(8u) : "memory");
    for (int32_t h = 1; h < MF_HARTS; ++h) {
        MF_MSIP(h) = 1u;
    }
    while (g_ready != (uint32_t)(MF_HARTS - 1)) {
    }
    fence_rw();
}

MF_WAIT_CODE __attribute__((noreturn)) void mf_cluster_worker(int32_t hart)
{
    uint32_t seen = 0u;
    __atomic_fetch_add(&g_ready, 1u, __ATOMIC_ACQ_REL);
    for (;;) {
        for (;;) {
            MF_MSIP(hart) = 0u;
            fence_rw();
            if (g_generation != seen) {
                break;
            }
            sleep_until_woken();
        }
        seen = g_generation;
        fence_rw();
        start_delay(hart, seen);
        g_fn(g_arg, hart, MF_HARTS);
        if (__atomic_add_fetch(&g_done, 1u, __ATOMIC_ACQ_REL) == (uint32_t)(MF_HARTS - 1)) {
            MF_MSIP(0) = 1u;
        }
    }
}

MF_WAIT_CODE void mf_cluster_fork(mf_team_fn fn, void *arg)
{
    mf_cluster_region_begin();
    if (MF_HARTS > 1) {
        g_fn = fn;
        g_arg = arg;
        g_done = 0u;
        fence_rw();
        g_generation = g_generation + 1u;
        fence_rw();
        for (int32_t h = 1; h < MF_HARTS; ++h) {
            MF_MSIP(h) = 1u;
        }
    }
    start_delay(0, g_generation);
    fn(arg, 0, MF_HARTS);
    if (MF_HARTS > 1) {
        for (;;) {
            MF_MSIP(0) = 0u;
            fence_rw();
            if (g_done == (uint32_t)(MF_HARTS - 1)) {
                break;
            }
            sleep_until_woken();
        }
        fence_rw();
    }
    mf_cluster_region_end();
}
