/* Per-node profile marker of the generated model code.
 *
 * model.c calls MF_PROFILE_NODE(k) before node k. In a normal build it is nothing at all; built
 * with -DMF_PROFILE (`mcuforge run --sim --profile`) it calls mf_profile_node, a tiny function
 * of the board harness (runtime_c/board/mf_bench.c) whose address the QEMU instruction
 * counter watches: the instructions between two calls are the cost of one node. */
#ifndef MF_PROFILE_H
#define MF_PROFILE_H

#include <stdint.h>

#ifdef MF_PROFILE
void mf_profile_node(int32_t index);
#define MF_PROFILE_NODE(index) mf_profile_node(index)
#else
#define MF_PROFILE_NODE(index) ((void)0)
#endif

#endif /* MF_PROFILE_H */
