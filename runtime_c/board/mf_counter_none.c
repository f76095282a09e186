/* No cost counter (host builds): the protocol reports MF_COUNTER_NONE. */
#include "mf_counter.h"

void mf_counter_init(void)
{
}

uint8_t mf_counter_kind(void)
{
    return MF_COUNTER_NONE;
}

uint64_t mf_counter_read(void)
{
    return 0u;
}

uint64_t mf_counter_elapsed(uint64_t start, uint64_t stop)
{
    return stop - start;
}
