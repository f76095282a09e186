/* The strided, index-mapped copy (mf_copy.h: Transpose, Slice, Gather, Pad, Concat, ...) over a
 * cluster's harts: the first dimension longer than 1 is cut into one contiguous range per hart,
 * each hart running the reference copy on its range (a descriptor with that dimension = the
 * range and the offset, or the index pointer, of its first coordinate), so every element is moved as on
 * one hart. When the output may overlap the input (an in-place copy of the planner's
 * aliases), the order of the moves matters and the copy stays on one hart. */
#include "mf_cluster.h"
#include "mf_copy.h"
#if defined(__FLT16_MAX__)
#include "mf_f16.h"
#endif

/* [lo, hi]: the smallest and largest element offsets the copy reads (input) or writes. */
static void extent(const mf_copy_desc *d, int input, int32_t *lo, int32_t *hi)
{
    *lo = *hi = input ? d->in_offset : d->out_offset;
    for (int32_t i = 0; i < d->rank; ++i) {
        const int32_t stride = input ? d->in_stride[i] : d->out_stride[i];
        int32_t cmin = 0, cmax = d->shape[i] - 1;
        if (input && d->index[i]) { /* the coordinates the index maps to (< 0: fill, no read) */
            cmin = cmax = 0;
            for (int32_t j = 0; j < d->shape[i]; ++j) {
                const int32_t c = d->index[i][j] < 0 ? 0 : d->index[i][j];
                cmin = c < cmin ? c : cmin;
                cmax = c > cmax ? c : cmax;
            }
        }
        const int32_t a = cmin * stride, b = cmax * stride;
        *lo += a < b ? a : b;
        *hi += a < b ? b : a;
    }
}

static int may_overlap(const void *x, const void *y, const mf_copy_desc *d, int32_t elem)
{
    int32_t ilo, ihi, olo, ohi;
    extent(d, 1, &ilo, &ihi);
    extent(d, 0, &olo, &ohi);
    const intptr_t x0 = (intptr_t)x + (intptr_t)ilo * elem, x1 = (intptr_t)x + ((intptr_t)ihi + 1) * elem;
    const intptr_t y0 = (intptr_t)y + (intptr_t)olo * elem, y1 = (intptr_t)y + ((intptr_t)ohi + 1) * elem;
    return x0 < y1 && y0 < x1;
}

/* The dimension the harts split: the first longer than 1 (a batch of 1 leads most tensors). */
static int32_t split_axis(const mf_copy_desc *d)
{
    for (int32_t i = 0; i < d->rank; ++i)
        if (d->shape[i] > 1) return i;
    return 0;
}

/* Coordinates [lo, hi) of the split dimension: each output coordinate maps to its input one
 * through that dimension's index or stride alone, so the slice moves its elements as the
 * whole copy does. */
static int copy_slice(const mf_copy_desc *d, int32_t hart, int32_t harts, mf_copy_desc *s)
{
    const int32_t a = split_axis(d);
    int32_t lo, hi;
    mf_cluster_share(d->shape[a], 1, hart, harts, &lo, &hi);
    *s = *d;
    s->shape[a] = hi - lo;
    if (d->index[a]) s->index[a] = d->index[a] + lo;
    else s->in_offset += lo * d->in_stride[a];
    s->out_offset += lo * d->out_stride[a];
    return lo < hi;
}

#define PAR_COPY(T, NAME, PLAIN)                                                                \
    typedef struct {                                                                            \
        const T *x;                                                                             \
        T *y;                                                                                   \
        const mf_copy_desc *d;                                                                  \
    } NAME##_job;                                                                               \
    static void NAME##_team(void *arg, int32_t hart, int32_t harts)                             \
    {                                                                                           \
        const NAME##_job *j = arg;                                                              \
        mf_copy_desc s;                                                                         \
        if (copy_slice(j->d, hart, harts, &s)) (void)PLAIN(j->x, j->y, &s);                     \
    }                                                                                           \
    static int NAME##_run(const T *x, T *y, const mf_copy_desc *d)                              \
    {                                                                                           \
        if (!x || !y || !d || d->rank < 1 || d->rank > MF_MAX_RANK) return MF_EARG;             \
        if (d->shape[split_axis(d)] < 2 || may_overlap(x, y, d, (int32_t)sizeof(T)))            \
            return PLAIN(x, y, d);                                                              \
        NAME##_job j = {x, y, d};                                                               \
        mf_cluster_fork(NAME##_team, &j);                                                       \
        return MF_OK;                                                                           \
    }

PAR_COPY(float, par_copy_f32, mf_copy_f32_ref)

int mf_copy_par_f32_ref(const float *x, float *y, const mf_copy_desc *d)
{
    return par_copy_f32_run(x, y, d);
}

#if defined(__FLT16_MAX__)
PAR_COPY(mf_f16, par_copy_f16, mf_copy_f16_ref)

int mf_copy_par_f16_ref(const mf_f16 *x, mf_f16 *y, const mf_copy_desc *d)
{
    return par_copy_f16_run(x, y, d);
}
#endif
