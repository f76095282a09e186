/* mf_cluster.h on one core: each hart's share runs in turn, hart 0 first. The splits and the
 * arithmetic are those of a real cluster, so host tests check the par_* kernels' slicing
 * against the plain kernels bit for bit without threads; the concurrency itself is tested
 * under QEMU (mf_cluster_riscv.c). */
#include "mf_cluster.h"

int32_t mf_cluster_harts(void)
{
    return MF_HARTS;
}

void mf_cluster_region_begin(void)
{
}

void mf_cluster_region_end(void)
{
}

void mf_cluster_fork(mf_team_fn fn, void *arg)
{
    mf_cluster_region_begin();
    for (int32_t h = 0; h < MF_HARTS; ++h) {
        fn(arg, h, MF_HARTS);
    }
    mf_cluster_region_end();
}
