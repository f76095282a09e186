/* Matmul / linear (mf_gemm_*) over a cluster's harts: each hart calls the plain kernel on a
 * slice of the problem described by a sliced descriptor, so every output element comes out of
 * the same kernel's arithmetic for that element (the panels accumulate each output in its own
 * lane or register, over k in order, whatever rows or columns share a call):
 * - batched: the first batch dimension longer than 1, cut into contiguous batch ranges;
 * - one batch, several rows: rows of A / Y (and of C);
 * - one row (a linear layer on one token, a classifier): columns of B / Y in blocks of 16.
 * The epilogue (alpha, C, activation) is per element, applied by the same kernel on its slice. */
#include "mf_cluster.h"
#include "mf_fast.h"
#include "mf_gemm.h"
#include "mf_simd_f32.h"
#if defined(__FLT16_MAX__)
#include "mf_f16.h"
#endif

typedef struct {
    int32_t a, b, c, y; /* element offsets of the slice */
} gemm_offsets;

/* Hart `hart`'s slice: its descriptor and offsets; 0 when it has no work. */
static int gemm_slice(const mf_gemm_desc *d, int32_t hart, int32_t harts, mf_gemm_desc *s,
                      gemm_offsets *o)
{
    int32_t lo, hi, axis = -1;
    *s = *d;
    o->a = o->b = o->c = o->y = 0;
    for (int32_t i = 0; i < d->batch_rank && axis < 0; ++i)
        if (d->batch_shape[i] > 1) axis = i;
    if (axis >= 0) { /* dimensions before axis have length 1: offset 0 */
        int32_t inner = 1;
        for (int32_t i = axis + 1; i < d->batch_rank; ++i) inner *= d->batch_shape[i];
        mf_cluster_share(d->batch_shape[axis], 1, hart, harts, &lo, &hi);
        s->batch_shape[axis] = hi - lo;
        o->a = lo * d->a_bstride[axis];
        o->b = lo * d->b_bstride[axis];
        o->y = lo * inner * d->m * d->n;
    } else if (d->m > 1) {
        mf_cluster_share(d->m, 1, hart, harts, &lo, &hi);
        s->m = hi - lo;
        o->a = lo * d->a_rs;
        o->c = lo * d->c_rs;
        o->y = lo * d->n;
    } else { /* one row: Y's row stride (n) never matters */
        mf_cluster_share(d->n, 16, hart, harts, &lo, &hi);
        s->n = hi - lo;
        o->b = lo * d->b_cs;
        o->c = lo * d->c_cs;
        o->y = lo;
    }
    return lo < hi;
}

#define PAR_GEMM(T, NAME, PLAIN)                                                                \
    typedef struct {                                                                            \
        const T *a, *b, *c;                                                                     \
        T *y;                                                                                   \
        const mf_gemm_desc *d;                                                                  \
    } NAME##_job;                                                                               \
    static void NAME##_team(void *arg, int32_t hart, int32_t harts)                             \
    {                                                                                           \
        const NAME##_job *j = arg;                                                              \
        mf_gemm_desc s;                                                                         \
        gemm_offsets o;                                                                         \
        if (gemm_slice(j->d, hart, harts, &s, &o))                                              \
            (void)PLAIN(j->a + o.a, j->b + o.b, j->c ? j->c + o.c : NULL, j->y + o.y, &s);      \
    }                                                                                           \
    static int NAME##_run(const T *a, const T *b, const T *c, T *y, const mf_gemm_desc *d)      \
    {                                                                                           \
        if (!a || !b || !y || !d || d->batch_rank < 0 || d->batch_rank > MF_MAX_BATCH_RANK)     \
            return MF_EARG;                                                                     \
        NAME##_job j = {a, b, c, y, d};                                                         \
        mf_cluster_fork(NAME##_team, &j);                                                       \
        return MF_OK;                                                                           \
    }

PAR_GEMM(float, par_gemm_f32_ref, mf_gemm_f32_ref)

int mf_gemm_par_f32_ref(const float *a, const float *b, const float *c, float *y, const mf_gemm_desc *d)
{
    return par_gemm_f32_ref_run(a, b, c, y, d);
}

#if defined(__riscv_vector)
PAR_GEMM(float, par_gemm_f32_rvv, mf_gemm_f32_rvv)

int mf_gemm_par_f32_rvv(const float *a, const float *b, const float *c, float *y, const mf_gemm_desc *d)
{
    return par_gemm_f32_rvv_run(a, b, c, y, d);
}
#endif

#if defined(__FLT16_MAX__)
PAR_GEMM(mf_f16, par_gemm_f16_ref, mf_gemm_f16_ref)

int mf_gemm_par_f16_ref(const mf_f16 *a, const mf_f16 *b, const mf_f16 *c, mf_f16 *y, const mf_gemm_desc *d)
{
    return par_gemm_f16_ref_run(a, b, c, y, d);
}

#if defined(__riscv_vector)
PAR_GEMM(mf_f16, par_gemm_f16_rvv, mf_gemm_f16_rvv)

int mf_gemm_par_f16_rvv(const mf_f16 *a, const mf_f16 *b, const mf_f16 *c, mf_f16 *y, const mf_gemm_desc *d)
{
    return par_gemm_f16_rvv_run(a, b, c, y, d);
}
#endif
#endif
