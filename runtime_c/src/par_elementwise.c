/* Element-wise binary ops over a cluster's harts: the outermost dimension is cut into one
 * contiguous slice per hart and each hart calls the reference kernel on its slice (a
 * descriptor with shape[0] = the slice), so every element is computed as on one hart. */
#include "mf_cluster.h"
#include "mf_elementwise.h"
#if defined(__FLT16_MAX__)
#include "mf_f16.h"
#endif

typedef struct {
    const void *a, *b;
    void *y;
    const mf_binary_desc *d;
    int32_t elem; /* bytes per element */
} par_binary_job;

/* Hart `hart`'s slice of shape[0]: its descriptor and its byte offsets into a, b and y. */
static int binary_slice(const par_binary_job *j, int32_t hart, int32_t harts, mf_binary_desc *s,
                        int32_t *oa, int32_t *ob, int32_t *oy)
{
    const mf_binary_desc *d = j->d;
    int32_t lo, hi, inner = 1;
    mf_cluster_share(d->shape[0], 1, hart, harts, &lo, &hi);
    if (lo >= hi) return 0;
    for (int32_t i = 1; i < d->rank; ++i) inner *= d->shape[i];
    *s = *d;
    s->shape[0] = hi - lo;
    *oa = lo * d->a_stride[0] * j->elem;
    *ob = lo * d->b_stride[0] * j->elem;
    *oy = lo * inner * j->elem;
    return 1;
}

static void binary_f32_team(void *arg, int32_t hart, int32_t harts)
{
    const par_binary_job *j = arg;
    mf_binary_desc s;
    int32_t oa, ob, oy;
    if (binary_slice(j, hart, harts, &s, &oa, &ob, &oy))
        (void)mf_binary_f32_ref((const float *)((const uint8_t *)j->a + oa),
                                (const float *)((const uint8_t *)j->b + ob),
                                (float *)((uint8_t *)j->y + oy), &s);
}

int mf_binary_par_f32_ref(const float *a, const float *b, float *y, const mf_binary_desc *d)
{
    if (!a || !b || !y || !d || d->rank < 1 || d->rank > MF_MAX_RANK) return MF_EARG;
    par_binary_job j = {a, b, y, d, (int32_t)sizeof(float)};
    mf_cluster_fork(binary_f32_team, &j);
    return MF_OK;
}

#if defined(__FLT16_MAX__)
static void binary_f16_team(void *arg, int32_t hart, int32_t harts)
{
    const par_binary_job *j = arg;
    mf_binary_desc s;
    int32_t oa, ob, oy;
    if (binary_slice(j, hart, harts, &s, &oa, &ob, &oy))
        (void)mf_binary_f16_ref((const mf_f16 *)((const uint8_t *)j->a + oa),
                                (const mf_f16 *)((const uint8_t *)j->b + ob),
                                (mf_f16 *)((uint8_t *)j->y + oy), &s);
}

int mf_binary_par_f16_ref(const mf_f16 *a, const mf_f16 *b, mf_f16 *y, const mf_binary_desc *d)
{
    if (!a || !b || !y || !d || d->rank < 1 || d->rank > MF_MAX_RANK) return MF_EARG;
    par_binary_job j = {a, b, y, d, (int32_t)sizeof(mf_f16)};
    mf_cluster_fork(binary_f16_team, &j);
    return MF_OK;
}
#endif
