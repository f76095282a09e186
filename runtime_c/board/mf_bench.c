/* Benchmark markers. The QEMU plugin (tools/qemu_plugin) counts instructions executed
 * from the first instruction of mf_bench_start to the first instruction of mf_bench_stop,
 * using the addresses of these two symbols.
 *
 * Why the bodies differ: two identical empty functions may be folded into one address by
 * identical-code folding (GCC -fipa-icf, lld --icf), which would make both markers the same
 * address. Each one stores a distinct value to a volatile, which also lets a debugger see
 * which phase the firmware is in. */
#include "mf_board.h"

volatile uint32_t mf_bench_phase;

__attribute__((noinline)) void mf_bench_start(void)
{
    mf_bench_phase = 1u;
}

__attribute__((noinline)) void mf_bench_stop(void)
{
    mf_bench_phase = 2u;
}

/* Per-node marker (runtime_c/include/mf_profile.h): called before each node of a model built
 * with -DMF_PROFILE. The plugin records the running count each time it is entered. The store
 * keeps the body distinct from the markers above and shows a debugger the node running. */
volatile int32_t mf_profile_node_index;

__attribute__((noinline)) void mf_profile_node(int32_t index)
{
    mf_profile_node_index = index;
}
