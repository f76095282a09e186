/* Fork/join over the harts of a cluster, in the manner of PULP's pi_cl_team_fork.
 *
 * Hart 0 runs the model. mf_cluster_fork(fn, arg) runs fn(arg, hart, harts) on every hart,
 * hart 0 included, and returns when all have returned (a join barrier). The work split is
 * static: fn derives its share from (hart, harts) alone (mf_cluster_share), so which hart
 * computes which element never depends on timing, and the outputs are bit for bit those of
 * one hart whenever the per-element arithmetic is the same (the par_* kernels keep it so).
 *
 * Implementations (one is linked per build):
 *   runtime_c/board/mf_cluster_riscv.c   harts of a RISC-V cluster, parked with wfi and woken
 *                                        by software interrupts (CLINT msip), A-extension
 *                                        atomics for the join count
 *   runtime_c/board/mf_cluster_serial.c  one core that plays each hart in turn (host tests:
 *                                        the same splits and results, no concurrency)
 *
 * Instruction counting: everything that only waits or synchronises lives in the section
 * .text.mf_wait, which the counting plugin is told to count apart from work (see
 * tools/qemu_plugin/mf_icount.c); mf_cluster_region_begin/end mark each fork/join region. */
#ifndef MF_CLUSTER_H
#define MF_CLUSTER_H

#include <stdint.h>

/* The harts a fork uses: MF_HARTS at build time (1 when not set). */
#ifndef MF_HARTS
#define MF_HARTS 1
#endif

typedef void (*mf_team_fn)(void *arg, int32_t hart, int32_t harts);

/* Runs fn on every hart and returns after all are done. Called from hart 0 only, never from
 * inside fn (no nesting). */
void mf_cluster_fork(mf_team_fn fn, void *arg);

/* Number of harts mf_cluster_fork runs fn on. */
int32_t mf_cluster_harts(void);

/* Region markers for the counting plugin: hart 0 calls them around each fork. */
void mf_cluster_region_begin(void);
void mf_cluster_region_end(void);

/* Hart `hart`'s share [*lo, *hi) of n items dealt out in blocks of `grain` items (the last
 * block may be short): contiguous, as even as whole blocks allow, the same for every call. */
static inline void mf_cluster_share(int32_t n, int32_t grain, int32_t hart, int32_t harts,
                                    int32_t *lo, int32_t *hi)
{
    const int32_t blocks = (n + grain - 1) / grain;
    const int32_t base = blocks / harts, extra = blocks % harts;
    const int32_t b0 = hart * base + (hart < extra ? hart : extra);
    const int32_t b1 = b0 + base + (hart < extra ? 1 : 0);
    *lo = b0 * grain < n ? b0 * grain : n;
    *hi = b1 * grain < n ? b1 * grain : n;
}

#endif
